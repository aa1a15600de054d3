import { randomUUID } from 'node:crypto';
import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { deriveComponents, type ComponentCheck, type HealthReading } from './components.js';
import { StatusError } from './errors.js';
import { checkPublicText, type KnownTenant } from './public-text.js';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import type { StatusStore } from './store.js';
import { componentIds, componentStates, incidentStatuses, maintenanceStates, type ComponentId, type ComponentState, type Impact, type IncidentStatus, type StatusEntry, type StatusSnapshot } from './types.js';
import { dayOf } from './uptime.js';

const defaults = {
  /** Uptime bars cover this many days; older buckets are dropped. */
  keepDays: 90,
  /** Raw samples older than this are folded into their day's bucket. */
  compactAfterMs: 86_400_000,
  /** Resolved incidents, completed maintenance and notices stay on the page this long. */
  pastMs: 14 * 86_400_000,
};

/** Who changes the page: an operator, from the API or the console (the operators' audit trail). */
export interface StatusActor {
  readonly actor: Actor;
  readonly requestId: string;
  readonly sourceIp: string;
}

/** What the incidents module publishes: an incident's public face and one update of it. */
export interface IncidentUpdate {
  readonly incidentId: string;
  readonly title: string;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  /** The incident's state (triage, contained, eradicated, recovered, closed) or a Statuspage status. */
  readonly state: string;
  readonly text: string;
  readonly at: number;
}

export interface EntryInput {
  readonly title?: string;
  readonly text?: string;
  readonly components?: readonly ComponentId[];
  readonly status?: string;
  readonly startsAt?: number;
  readonly endsAt?: number | undefined;
  /** A new update's text, appended to the entry's updates. */
  readonly update?: string;
}

export interface StatusDeps {
  readonly store: StatusStore;
  readonly now: () => number;
  /** One check of the components' health (the same reads as `/readyz` and the platform probe). */
  readonly readHealth: () => Promise<HealthReading>;
  readonly checks: readonly ComponentCheck[];
  /** The platform's tenants: public text never names one. */
  readonly tenants: () => Promise<readonly KnownTenant[]>;
  readonly audit: Audit;
  readonly operatorRealm: string;
  /** Where the last snapshot is kept (`<dataDir>/status-snapshot.json`). */
  readonly snapshotFile: string;
  readonly log?: { error(fields: object, message: string): void };
}

export interface StatusService {
  /** What the page shows now (in memory; never waits for the database). */
  snapshot(): StatusSnapshot;
  /** Checks the components and reads the lists again; the database not answering is noted, not thrown. */
  refresh(): Promise<StatusSnapshot>;
  /** The leader's round: refresh, store this minute's sample, compact. */
  probe(): Promise<void>;
  publishIncidentUpdate(update: IncidentUpdate): Promise<void>;
  createEntry(by: StatusActor, kind: 'maintenance' | 'notice', input: EntryInput): Promise<StatusEntry>;
  updateEntry(by: StatusActor, kind: 'maintenance' | 'notice', id: string, input: EntryInput): Promise<StatusEntry>;
  listEntries(): Promise<StatusEntry[]>;
  setOverride(by: StatusActor, component: ComponentId, state: ComponentState, note: string, until: number): Promise<void>;
  clearOverride(by: StatusActor, component: ComponentId): Promise<void>;
  /** Every node refreshes its own snapshot; only the leader records samples. */
  start(timing: { everyMs: number; leadership: Leadership }): { stop(): Promise<void> };
}

/** The incidents module's states as the status vocabulary (NIST SP 800-61r2 phases → what the public reads). */
export function incidentStatusOf(state: string): IncidentStatus {
  if ((incidentStatuses as readonly string[]).includes(state)) return state as IncidentStatus;
  switch (state) {
    case 'triage':
      return 'investigating';
    case 'contained':
      return 'identified';
    case 'eradicated':
    case 'recovered':
      return 'monitoring';
    case 'closed':
      return 'resolved';
    default:
      throw new StatusError('status-invalid', `state: one of triage, contained, eradicated, recovered, closed or ${incidentStatuses.join(', ')}`, { status: 400 });
  }
}

const impactOf: Readonly<Record<IncidentUpdate['severity'], Impact>> = { low: 'minor', medium: 'minor', high: 'major', critical: 'critical' };

const emptySnapshot = (at: number): StatusSnapshot => ({ format: 'tresor-status/1', checkedAt: at, storedAt: 0, databaseDown: false, components: [], entries: [], days: [] });

function validTitle(value: string | undefined, field = 'title'): string {
  if (value === undefined || value.trim().length === 0 || value.length > 200) throw new StatusError('status-invalid', `${field}: 1 to 200 characters`, { status: 400 });
  return value.trim();
}
function validText(value: string | undefined, field = 'text'): string {
  if (value !== undefined && value.length > 5000) throw new StatusError('status-invalid', `${field}: at most 5000 characters`, { status: 400 });
  return (value ?? '').trim();
}

export function createStatus(deps: StatusDeps): StatusService {
  const { store, now } = deps;
  let current = readSnapshotFile(deps.snapshotFile) ?? emptySnapshot(now());
  // A snapshot from disk is as of its time; until the database answers, the page says so.
  if (current.storedAt > 0) current = { ...current, databaseDown: true };
  let refreshing: Promise<StatusSnapshot> | undefined;

  async function build(): Promise<StatusSnapshot> {
    const at = now();
    const health = await deps.readHealth();
    let lists: Pick<StatusSnapshot, 'entries' | 'days' | 'storedAt'> & { overrides: Awaited<ReturnType<StatusStore['overrides']>> };
    let databaseDown = !health.apiReady;
    try {
      if (databaseDown) throw new Error('storage not ready');
      const [entries, days, overrides] = await Promise.all([store.entries(at - defaults.pastMs), store.days(dayOf(at - (defaults.keepDays - 1) * 86_400_000)), store.overrides()]);
      lists = { entries, days, overrides, storedAt: at };
    } catch {
      databaseDown = true;
      // As of the last time the database answered; overrides are kept in the components already.
      lists = { entries: current.entries, days: current.days, storedAt: current.storedAt, overrides: current.components.flatMap((c) => (c.override === undefined ? [] : [{ component: c.id, state: c.state, note: c.override.note, until: c.override.until }])) };
    }
    const components = deriveComponents({ ...health, apiReady: health.apiReady && !databaseDown }, deps.checks, lists.overrides, lists.entries);
    return { format: 'tresor-status/1', checkedAt: at, storedAt: lists.storedAt, databaseDown, components, entries: lists.entries, days: lists.days };
  }

  async function refresh(): Promise<StatusSnapshot> {
    // Concurrent callers (a change and the job) share one round.
    refreshing ??= build()
      .then(async (next) => {
        current = next;
        await writeSnapshotFile(deps.snapshotFile, next).catch((error: unknown) => deps.log?.error({ event: 'status.snapshot_failed', code: (error as { code?: unknown }).code }, 'the status snapshot could not be written'));
        return next;
      })
      .finally(() => (refreshing = undefined));
    return refreshing;
  }

  async function recordSample(snap: StatusSnapshot): Promise<void> {
    if (snap.databaseDown) return;
    await store.addSamples(snap.components.map((c) => ({ component: c.id, at: snap.checkedAt, state: c.state })));
    await store.compact(snap.checkedAt - defaults.compactAfterMs, dayOf(snap.checkedAt - (defaults.keepDays - 1) * 86_400_000));
  }

  const record = async (by: StatusActor | undefined, detail: string, resource: string) => {
    const actor: Actor = by?.actor ?? { id: 'system:incidents', role: 'system', client: 'tresor' };
    await deps.audit.record(deps.operatorRealm, [{ ...operatorEvent('status.changed', actor, { resources: [resource], detail }), requestId: by?.requestId ?? '', sourceIp: by?.sourceIp ?? 'local', status: 200 }]);
  };

  const checkComponents = (list: readonly unknown[] | undefined): ComponentId[] => {
    if (list === undefined) return [];
    for (const c of list) if (!(componentIds as readonly unknown[]).includes(c)) throw new StatusError('status-invalid', `components: each one of ${componentIds.join(', ')}`, { status: 400 });
    return [...new Set(list as ComponentId[])];
  };

  const safe = async (fields: Record<string, string>) => checkPublicText(fields, await deps.tenants());

  return {
    snapshot: () => current,
    refresh,
    probe: async () => recordSample(await refresh()),
    async publishIncidentUpdate(update) {
      const title = validTitle(update.title);
      const text = validText(update.text);
      if (!Number.isFinite(update.at)) throw new StatusError('status-invalid', 'at: milliseconds since the epoch', { status: 400 });
      if (!(update.severity in impactOf)) throw new StatusError('status-invalid', 'severity: low, medium, high or critical', { status: 400 });
      const status = incidentStatusOf(update.state);
      await safe({ title, text });
      // The id becomes part of the page's anchors and the feeds' ids: its shape is checked, never cleaned.
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(update.incidentId)) throw new StatusError('status-invalid', 'incidentId: letters, digits, - and _, up to 64', { status: 400 });
      const id = `incident-${update.incidentId}`;
      const before = await store.entry(id);
      const entry: StatusEntry = {
        id,
        kind: 'incident',
        title,
        text: '',
        components: before?.components ?? [],
        status,
        impact: impactOf[update.severity],
        startsAt: before?.startsAt ?? update.at,
        createdAt: before?.createdAt ?? update.at,
        updatedAt: Math.max(update.at, before?.updatedAt ?? 0),
        updates: [{ at: update.at, status, text }, ...(before?.updates ?? [])].sort((a, b) => b.at - a.at),
      };
      await store.putEntry(entry);
      await record(undefined, `incident update published (${status})`, `StatusEntry/${id}`);
      await refresh();
    },
    async createEntry(by, kind, input) {
      const at = now();
      const title = validTitle(input.title);
      const text = validText(input.text);
      await safe({ title, text });
      const status = kind === 'notice' ? 'published' : (input.status ?? 'scheduled');
      if (kind === 'maintenance') {
        if (!(maintenanceStates as readonly string[]).includes(status)) throw new StatusError('status-invalid', `status: ${maintenanceStates.join(', ')}`, { status: 400 });
        if (input.startsAt === undefined || input.endsAt === undefined || !(input.endsAt > input.startsAt)) throw new StatusError('status-invalid', 'startsAt and endsAt: a window, the end after the start', { status: 400 });
      }
      const entry: StatusEntry = {
        id: `${kind}-${randomUUID()}`,
        kind,
        title,
        text,
        components: checkComponents(input.components),
        status,
        impact: 'none',
        startsAt: input.startsAt ?? at,
        ...(input.endsAt === undefined ? {} : { endsAt: input.endsAt }),
        createdAt: at,
        updatedAt: at,
        updates: [],
      };
      await store.putEntry(entry);
      await record(by, `${kind} created`, `StatusEntry/${entry.id}`);
      await refresh();
      return entry;
    },
    async updateEntry(by, kind, id, input) {
      const before = await store.entry(id);
      if (before === undefined || before.kind !== kind) throw new StatusError('status-not-found', `No ${kind} ${id}.`, { status: 404 });
      const at = now();
      const title = input.title === undefined ? before.title : validTitle(input.title);
      const text = input.text === undefined ? before.text : validText(input.text);
      const update = input.update === undefined ? undefined : validText(input.update, 'update');
      await safe({ title, text, update: update ?? '' });
      const status = input.status ?? before.status;
      if (kind === 'maintenance' && !(maintenanceStates as readonly string[]).includes(status)) throw new StatusError('status-invalid', `status: ${maintenanceStates.join(', ')}`, { status: 400 });
      const startsAt = input.startsAt ?? before.startsAt;
      const endsAt = 'endsAt' in input ? input.endsAt : before.endsAt;
      if (kind === 'maintenance' && (endsAt === undefined || !(endsAt > startsAt))) throw new StatusError('status-invalid', 'startsAt and endsAt: a window, the end after the start', { status: 400 });
      const entry: StatusEntry = {
        ...before,
        title,
        text,
        status,
        components: input.components === undefined ? before.components : checkComponents(input.components),
        startsAt,
        ...(endsAt === undefined ? {} : { endsAt }),
        updatedAt: at,
        updates: update === undefined || update === '' ? (status === before.status ? before.updates : [{ at, status, text: '' }, ...before.updates]) : [{ at, status, text: update }, ...before.updates],
      };
      await store.putEntry(entry);
      await record(by, `${kind} updated (${status})`, `StatusEntry/${id}`);
      await refresh();
      return entry;
    },
    listEntries: () => store.entries(0),
    async setOverride(by, component, state, note, until) {
      if (!(componentIds as readonly string[]).includes(component)) throw new StatusError('status-invalid', `component: one of ${componentIds.join(', ')}`, { status: 400 });
      if (!(componentStates as readonly string[]).includes(state)) throw new StatusError('status-invalid', `state: one of ${componentStates.join(', ')}`, { status: 400 });
      const text = validTitle(note, 'note');
      if (!(until > now())) throw new StatusError('status-invalid', 'until: a time in the future (an override always ends)', { status: 400 });
      await safe({ note: text });
      await store.setOverride({ component, state, note: text, until });
      await record(by, `component ${component} overridden: ${state} until ${new Date(until).toISOString()}`, `StatusComponent/${component}`);
      await refresh();
    },
    async clearOverride(by, component) {
      if (!(await store.clearOverride(component))) throw new StatusError('status-not-found', `No override of ${component}.`, { status: 404 });
      await record(by, `component ${component} override removed`, `StatusComponent/${component}`);
      await refresh();
    },
    start({ everyMs, leadership }) {
      // Every node keeps its own page fresh; the leader alone stores samples (one per interval, not one per node).
      return periodic(async () => {
        const snap = await refresh();
        if (await leadership.held()) await recordSample(snap);
      }, everyMs);
    },
  };
}
