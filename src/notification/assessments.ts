import type { Actor, Audit, AuditAction } from '../audit/index.js';
import type { Scope } from '../breach/index.js';
import type { FrozenScopes, FrozenScopeSummary, IncidentCaller, Incidents } from '../incidents/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { forbidden } from '../identity/index.js';
import { assess } from './assessment.js';
import { notificationRules } from './assessment-rules/index.js';
import { deleteStages, insertStages, selectAssessment, selectDueItems, selectItems, replaceComputed, updateDone, updateOverride, upsertAssessment, type AssessmentRow, type ItemRow } from './assessment-store.js';
import { answers, type Answer, type ComputedItem, type NotificationRule, type PlatformRole, type Regime } from './assessment-types.js';
import { deadlineStages, stageAt, type DeadlineStage } from './deadlines.js';
import { invalidAssessment, NotificationError } from './errors.js';
import { residencyOf, type AffectedPeople, type Residency } from './people.js';

/** One line of the checklist as people see it: the computed result, a person's override beside it, and whether it was done. */
export interface ItemView extends ComputedItem {
  /** The answer a person works with: the override when there is one, else the computed one. */
  readonly effective: Answer;
  readonly override: ItemRow['override'];
  readonly done: ItemRow['done'];
  /** The deadline stage reached now (not done, `yes` or `decide`): what the countdown shows. */
  readonly stage: DeadlineStage | null;
}

export interface AssessmentView {
  readonly incidentId: string;
  readonly scopeId: string;
  readonly scopeHash: string;
  readonly awareAt: number;
  readonly awareness: AssessmentRow['awareness'];
  readonly role: PlatformRole;
  readonly regimes: readonly Regime[];
  readonly computedAt: number;
  readonly computedBy: string;
  readonly changed: readonly string[];
  readonly items: readonly ItemView[];
}

export interface ItemChange {
  /** A person's answer (null removes the override); needs `reason`. */
  readonly answer?: Answer | null;
  readonly reason?: string;
  /** Marks the item done (how and when it was notified); null undoes it. */
  readonly done?: { readonly at?: number; readonly how: string } | null;
}

export interface Assessments {
  /** Operators: computes the checklist from a frozen scope (the newest when none is named), keeping the overrides that still apply. */
  compute(caller: IncidentCaller, incidentId: string, scopeId?: string): Promise<AssessmentView>;
  /** Operators: the whole checklist; a tenant: its own items. */
  get(caller: IncidentCaller, incidentId: string): Promise<AssessmentView>;
  changeItem(caller: IncidentCaller, incidentId: string, key: string, change: ItemChange): Promise<AssessmentView>;
  setAwareness(caller: IncidentCaller, incidentId: string, at: number, reason: string): Promise<AssessmentView>;
  /** One round of the deadline job: records `notification.deadline_near` once per item and stage; how many it recorded. */
  checkDeadlines(): Promise<number>;
  start(timing: { everyMs: number; leadership: Leadership }): { stop(): Promise<void> };
}

export interface AssessmentSettings {
  readonly role: PlatformRole;
  readonly regimes: readonly Regime[];
}

export interface AssessmentsDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly incidents: Pick<Incidents, 'get'>;
  readonly scopes: Pick<FrozenScopes, 'list' | 'get'>;
  readonly people: AffectedPeople;
  readonly settings: AssessmentSettings;
  readonly operatorRealm: string;
  readonly rules?: readonly NotificationRule[];
}

const limits = { reason: 2000, how: 2000 };
const system: Actor = { id: 'system:notification', role: 'system', client: 'tresor' };
const operatorsOnly = () => forbidden('Only the platform operators compute and change the notification assessment.');
const missing = () => new NotificationError('assessment-not-found', 'This incident has no notification assessment yet: compute one from a frozen scope.', { status: 404, expose: true });

/**
 * The notification assessment of an incident: computed from a frozen scope by the rules
 * (assessment-rules/), stored with its inputs, and changed only by a person with a reason —
 * the computed answer stays beside the override (GDPR Art. 33(5): the controller documents the
 * breach and the action taken; HIPAA 164.530(j)). Every change is audited in the operators'
 * trail and, as counts, in each affected tenant's.
 */
export function createAssessments({ storage, clock, audit, incidents, scopes, people, settings, operatorRealm, rules = notificationRules }: AssessmentsDeps): Assessments {
  const db = storage.platform;
  const now = () => clock.now().getTime();

  async function record(realm: string, caller: IncidentCaller | undefined, action: AuditAction, incidentId: string, detail: string): Promise<void> {
    await audit.record(realm, [
      {
        action,
        outcome: 'success',
        status: caller?.status ?? 0,
        actor: caller?.actor ?? system,
        purpose: caller?.kind === 'tenant' ? 'HOPERAT' : 'SYSADMIN',
        resources: [`Incident/${incidentId}`],
        subjects: [],
        classes: [],
        requestId: caller?.requestId ?? '',
        sourceIp: caller?.sourceIp ?? 'local',
        detail: detail.slice(0, 2000),
      },
    ]);
  }

  async function view(row: AssessmentRow, tenantId?: string): Promise<AssessmentView> {
    const at = now();
    const items = (await selectItems(db, row.incidentId, tenantId)).map((item): ItemView => {
      const effective = item.override?.answer ?? item.computed.answer;
      const open = item.done === null && (effective === 'yes' || effective === 'decide') && item.computed.dueAt !== null;
      return { ...item.computed, effective, override: item.override, done: item.done, stage: open ? (stageAt(row.awareAt, item.computed.dueAt as number, at) ?? null) : null };
    });
    // The table's order, tenant by tenant.
    const order = new Map(rules.map((r, i) => [r.id, i]));
    items.sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : (order.get(a.rule) ?? 0) - (order.get(b.rule) ?? 0)));
    const { residency: _residency, ...rest } = row;
    return { ...rest, changed: tenantId === undefined ? row.changed : row.changed.filter((k) => k.endsWith(`@${tenantId}`)), items };
  }

  async function frozen(caller: IncidentCaller, incidentId: string, scopeId: string): Promise<Scope> {
    return JSON.parse(await scopes.get(caller, incidentId, scopeId)) as Scope;
  }

  /** Recomputes every item from the stored inputs (an override or the awareness changed): later rules build on earlier answers. */
  async function recompute(caller: IncidentCaller, row: AssessmentRow, overrides: ReadonlyMap<string, Answer>): Promise<ComputedItem[]> {
    const scope = await frozen(caller, row.incidentId, row.scopeId);
    return assess({ scope, residency: row.residency, awareAt: row.awareAt, role: row.role, regimes: row.regimes, overrides }, rules);
  }

  const overridesOf = (items: readonly ItemRow[]) => new Map(items.flatMap((i) => (i.override === null ? [] : [[i.key, i.override.answer] as const])));

  async function stored(caller: IncidentCaller, incidentId: string): Promise<AssessmentRow> {
    await incidents.get(caller, incidentId);
    const row = await selectAssessment(db, incidentId);
    if (row === undefined) throw missing();
    return row;
  }

  const tenantsOf = (items: readonly { tenantId: string }[]) => [...new Set(items.map((i) => i.tenantId))].sort();

  const tally = (items: readonly ComputedItem[]) => answers.map((a) => `${a}=${items.filter((i) => i.answer === a).length}`).join(' ');

  const service: Assessments = {
    async compute(caller, incidentId, scopeId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const { incident } = await incidents.get(caller, incidentId);
      const list = (await scopes.list(caller, incidentId)) as FrozenScopeSummary[];
      const chosen = scopeId === undefined ? list.at(-1) : list.find((s) => s.id === scopeId);
      if (chosen === undefined) throw new NotificationError('assessment-no-scope', scopeId === undefined ? 'Freeze a breach scope into the incident first.' : 'No such frozen scope in this incident.', { status: scopeId === undefined ? 409 : 404, expose: true });
      const scope = await frozen(caller, incidentId, chosen.id);
      const previous = await selectAssessment(db, incidentId);
      const before = previous === undefined ? [] : await selectItems(db, incidentId);
      // Residency counts per tenant, read from the patients' own records when asked (audited
      // there as breach.people_resolved); the addresses themselves are never stored here.
      const residency: Record<string, Residency> = {};
      for (const tenant of scope.tenants.filter((t) => t.patients.count > 0)) {
        residency[tenant.tenantId] = residencyOf(await people.resolve(scope, tenant.tenantId, { actor: caller.actor, sourceIp: caller.sourceIp, requestId: caller.requestId }, 'en'));
      }
      // A time of awareness a person set stays; otherwise the incident's (it may have changed since).
      const awareAt = previous !== undefined && previous.awareness !== null ? previous.awareAt : incident.awareAt;
      const overrides = overridesOf(before);
      const items = assess({ scope, residency, awareAt, role: settings.role, regimes: settings.regimes, overrides }, rules);
      const was = new Map(before.map((i) => [i.key, i.computed.answer]));
      const changed = previous === undefined ? [] : [...items.filter((i) => was.get(i.key) !== i.answer).map((i) => i.key), ...before.filter((b) => !items.some((i) => i.key === b.key)).map((b) => b.key)];
      const row: AssessmentRow = { incidentId, scopeId: chosen.id, scopeHash: chosen.hash, awareAt, awareness: previous?.awareness ?? null, role: settings.role, regimes: settings.regimes, residency, computedAt: now(), computedBy: caller.actor.id, changed };
      await db.transaction(async (tx) => {
        await upsertAssessment(tx, row);
        await replaceComputed(tx, incidentId, items);
      });
      await record(operatorRealm, caller, 'notification.assessed', incidentId, `scope ${chosen.id} hash=${chosen.hash} items=${items.length} ${tally(items)} kept-overrides=${[...overrides.keys()].filter((k) => items.some((i) => i.key === k)).length} changed=${changed.join(',') || 'none'}`);
      for (const tenant of tenantsOf(items)) {
        const own = items.filter((i) => i.tenantId === tenant);
        await record(tenant, caller, 'notification.assessed', incidentId, `scope ${chosen.id} hash=${chosen.hash} items=${own.length} ${tally(own)}`);
      }
      return view(row);
    },

    async get(caller, incidentId) {
      const row = await stored(caller, incidentId);
      const result = await view(row, caller.kind === 'tenant' ? caller.tenant : undefined);
      if (caller.kind === 'tenant' && result.items.length === 0) throw missing();
      return result;
    },

    async changeItem(caller, incidentId, key, change) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const row = await stored(caller, incidentId);
      const items = await selectItems(db, incidentId);
      const item = items.find((i) => i.key === key);
      if (item === undefined) throw new NotificationError('assessment-item-not-found', 'No such item in this assessment.', { status: 404, expose: true });
      if (change.answer === undefined && change.done === undefined) throw invalidAssessment('Send "answer" with "reason", or "done".');
      const at = now();
      const said: string[] = [];
      let next: ItemRow['override'] | undefined;
      if (change.answer !== undefined) {
        const reason = (change.reason ?? '').trim();
        // Every departure from the computed answer is explained (GDPR Art. 33(5); HIPAA 164.530(j)).
        if (reason === '' || reason.length > limits.reason) throw invalidAssessment(`reason: why the answer differs (1–${limits.reason} characters)`);
        if (change.answer !== null && !(answers as readonly string[]).includes(change.answer)) throw invalidAssessment(`answer: one of ${answers.join(', ')}, or null`);
        next = change.answer === null ? null : { answer: change.answer, reason, by: caller.actor.id, at };
        said.push(change.answer === null ? `override removed (computed ${item.computed.answer})` : `answer ${item.computed.answer} → ${change.answer} (reason: ${reason.length} characters)`);
      }
      let done: ItemRow['done'] | undefined;
      if (change.done !== undefined) {
        if (change.done === null) done = null;
        else {
          const how = change.done.how.trim();
          if (how === '' || how.length > limits.how) throw invalidAssessment(`done.how: how and whom it was notified (1–${limits.how} characters)`);
          const when = change.done.at ?? at;
          if (!Number.isSafeInteger(when) || when > at) throw invalidAssessment('done.at: a time not in the future');
          done = { at: when, by: caller.actor.id, how };
        }
        said.push(done === null ? 'marked not done' : `done at ${new Date(done.at).toISOString()}`);
      }
      let recomputed: ComputedItem[] | undefined;
      if (next !== undefined) {
        const overrides = overridesOf(items.map((i) => (i.key === key ? { ...i, override: next } : i)));
        recomputed = await recompute(caller, row, overrides);
      }
      await db.transaction(async (tx) => {
        if (next !== undefined) await updateOverride(tx, incidentId, key, next);
        if (done !== undefined) await updateDone(tx, incidentId, key, done);
        if (recomputed !== undefined) await replaceComputed(tx, incidentId, recomputed);
      });
      const detail = `item ${key}: ${said.join('; ')}`;
      await record(operatorRealm, caller, 'notification.item_changed', incidentId, detail);
      await record(item.tenantId, caller, 'notification.item_changed', incidentId, detail);
      return view(row);
    },

    async setAwareness(caller, incidentId, at, reason) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const row = await stored(caller, incidentId);
      const why = reason.trim();
      if (why === '' || why.length > limits.reason) throw invalidAssessment(`reason: why awareness began then (1–${limits.reason} characters)`);
      if (!Number.isSafeInteger(at) || at < 0 || at > now()) throw invalidAssessment('at: a time not in the future');
      const updated: AssessmentRow = { ...row, awareAt: at, awareness: { reason: why, by: caller.actor.id, at: now() } };
      const items = await selectItems(db, incidentId);
      const recomputed = await recompute(caller, updated, overridesOf(items));
      await db.transaction(async (tx) => {
        await upsertAssessment(tx, updated);
        await replaceComputed(tx, incidentId, recomputed);
      });
      const detail = `awareness ${new Date(row.awareAt).toISOString()} → ${new Date(at).toISOString()} (reason: ${why.length} characters)`;
      await record(operatorRealm, caller, 'notification.awareness_set', incidentId, detail);
      for (const tenant of tenantsOf(items)) await record(tenant, caller, 'notification.awareness_set', incidentId, detail);
      return view(updated);
    },

    async checkDeadlines() {
      const at = now();
      let raised = 0;
      for (const item of await selectDueItems(db)) {
        const stage = stageAt(item.awareAt, item.dueAt, at);
        if (stage === undefined || item.stages.includes(stage)) continue;
        // One event per item and stage; a round that finds several stages passed at once (the
        // server was down) raises the latest only and marks the earlier ones as passed.
        const upTo = deadlineStages.slice(0, deadlineStages.indexOf(stage) + 1).filter((s) => !item.stages.includes(s));
        const claimed = await insertStages(db, item.incidentId, item.key, upTo, at);
        if (claimed.length === 0) continue;
        const detail = `incident=${item.incidentId} item=${item.key} stage=${stage} due=${new Date(item.dueAt).toISOString()} cite=${item.cite}`;
        try {
          await record(operatorRealm, undefined, 'notification.deadline_near', item.incidentId, detail);
          // The tenant's own admins hear of their own duty's deadline (its trail, its alert).
          await record(item.tenantId, undefined, 'notification.deadline_near', item.incidentId, detail);
        } catch (error) {
          // Not recorded, not raised: the claim is given back and the next round tries again. A
          // legal deadline's alert may come twice (the rule joins repeats into one alert), never
          // not at all.
          await deleteStages(db, item.incidentId, item.key, claimed);
          throw error;
        }
        raised += 1;
      }
      return raised;
    },

    start({ everyMs, leadership }) {
      return periodic(async () => void (await service.checkDeadlines()), everyMs, 0, leadership);
    },
  };
  return service;
}
