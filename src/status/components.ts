import type { PlatformReading, ProbeRule, RuleConfig } from '../detection/index.js';
import type { ComponentId, ComponentOverride, ComponentState, ComponentStatus, Impact, StatusEntry } from './types.js';

/** What one check of the platform found: the same facts `/readyz` and the platform probe read. */
export interface HealthReading {
  readonly at: number;
  /** `/readyz`: the storage answered a ping. */
  readonly apiReady: boolean;
  /** The identity service answered: the platform data set (accounts, sessions) read a row. */
  readonly signInAnswers: boolean;
  /** An authorization server answered its discovery document (undefined: not asked, `status.oauthTenant` unset). */
  readonly oauthAnswers: boolean | undefined;
  /** Backups, replication, the certificate, as the detection probe reads them (detection/probes.ts). */
  readonly platform: PlatformReading | undefined;
  /** PostgreSQL: replication is a component when the primary reports it (hidden on SQLite and where it cannot be read). */
  readonly replicationShown: boolean;
}

/**
 * A detection probe rule judging one component: the status page asks the rules the alerts come
 * from (backup overdue, replication, certificate expiry), so the page and the alerts never
 * disagree about what is wrong.
 */
export interface ComponentCheck {
  readonly component: ComponentId;
  readonly rule: ProbeRule<PlatformReading, RuleConfig>;
  readonly config: RuleConfig;
  /** What a finding makes of the component. */
  readonly state: ComponentState;
}

const rank: Readonly<Record<ComponentState, number>> = { operational: 0, under_maintenance: 1, degraded_performance: 2, partial_outage: 3, major_outage: 4 };

export const worseState = (a: ComponentState, b: ComponentState): ComponentState => (rank[b] > rank[a] ? b : a);

/** Whether a maintenance is running at `now` (its state says so, or its window holds now and it is not completed). */
export function maintenanceActive(entry: StatusEntry, now: number): boolean {
  if (entry.kind !== 'maintenance' || entry.status === 'completed') return false;
  if (entry.status === 'in_progress') return true;
  return entry.startsAt <= now && (entry.endsAt === undefined || now < entry.endsAt);
}

/**
 * Each component's state from the checks — never typed by hand — then, in this order: a running
 * maintenance that names it makes it `under_maintenance` (expected work is not an outage), and an
 * operator's override until its end time decides over both.
 */
export function deriveComponents(reading: HealthReading, checks: readonly ComponentCheck[], overrides: readonly ComponentOverride[], entries: readonly StatusEntry[]): ComponentStatus[] {
  const now = reading.at;
  const measured: { id: ComponentId; state: ComponentState; reason?: string }[] = [
    reading.apiReady ? { id: 'api', state: 'operational' } : { id: 'api', state: 'major_outage', reason: 'the database does not answer' },
    reading.signInAnswers ? { id: 'sign-in', state: 'operational' } : { id: 'sign-in', state: 'major_outage', reason: 'the identity service does not answer' },
    reading.oauthAnswers === false
      ? { id: 'oauth', state: 'major_outage', reason: 'the authorization server does not answer its discovery document' }
      : // Not asked: the authorization servers need the storage and the identity service, so they follow them.
        reading.oauthAnswers === undefined && !(reading.apiReady && reading.signInAnswers)
        ? { id: 'oauth', state: 'major_outage', reason: 'the storage or the identity service does not answer' }
        : { id: 'oauth', state: 'operational' },
  ];
  const p = reading.platform;
  const shown = (id: ComponentId): boolean =>
    id === 'backups' ? p?.backups !== undefined && p.backups.scheduled : id === 'replication' ? reading.replicationShown && p?.replication !== undefined : id === 'certificate' ? p?.certificate !== undefined : false;
  for (const id of ['backups', 'replication', 'certificate'] as const) {
    if (!shown(id)) continue;
    let state: ComponentState = 'operational';
    const reasons: string[] = [];
    for (const check of checks) {
      if (check.component !== id || p === undefined) continue;
      const findings = check.rule.evaluate(p, check.config, now);
      if (findings.length === 0) continue;
      state = worseState(state, check.state);
      reasons.push(...findings.map((f) => f.summary));
    }
    measured.push({ id, state, ...(reasons.length === 0 ? {} : { reason: reasons.join('; ') }) });
  }
  const running = entries.filter((e) => maintenanceActive(e, now));
  return measured.map((c) => {
    const override = overrides.find((o) => o.component === c.id && o.until > now);
    if (override !== undefined) return { id: c.id, state: override.state, reason: override.note, override: { note: override.note, until: override.until } };
    if (running.some((m) => m.components.includes(c.id))) return { id: c.id, state: 'under_maintenance', reason: running.find((m) => m.components.includes(c.id))?.title ?? '' };
    return c;
  });
}

const impactRank: Readonly<Record<Impact, number>> = { none: 0, minor: 1, major: 2, critical: 3 };
export type Indicator = Impact | 'maintenance';

/**
 * The page's overall indicator (Statuspage's `status.indicator`): the worst of the components —
 * degraded → minor, partial outage → major, major outage → critical — and of the unresolved
 * incidents' impact; `maintenance` when nothing is wrong but work is under way.
 */
export function overallIndicator(components: readonly ComponentStatus[], entries: readonly StatusEntry[]): Indicator {
  let worst: Impact = 'none';
  const raise = (impact: Impact) => (worst = impactRank[impact] > impactRank[worst] ? impact : worst);
  for (const c of components) {
    if (c.state === 'degraded_performance') raise('minor');
    if (c.state === 'partial_outage') raise('major');
    if (c.state === 'major_outage') raise('critical');
  }
  for (const e of entries) if (e.kind === 'incident' && e.status !== 'resolved') raise(e.impact);
  if (worst === 'none' && components.some((c) => c.state === 'under_maintenance')) return 'maintenance';
  return worst;
}
