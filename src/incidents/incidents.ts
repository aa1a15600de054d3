import type { Actor, Audit, AuditAction, AuditEventInput } from '../audit/index.js';
import { currentAlert, type Alerts, type EscalatedAlerts, type Severity } from '../detection/index.js';
import { forbidden, type Accounts, type Message, type Notifier } from '../identity/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { Tenants } from '../tenants/index.js';
import { IncidentError, invalid, notFound } from './errors.js';
import { checkTransition, type IncidentState } from './states.js';
import {
  appendEntry,
  insertAlertLink,
  insertDelivery,
  insertIncident,
  insertTask,
  replaceTenants,
  selectAlertLinks,
  selectDeliveries,
  selectIncident,
  selectIncidents,
  selectTasks,
  selectTimeline,
  updateIncident,
  updateTask,
  type IncidentFilter,
} from './store.js';
import type { Delivery, EntryKind, Incident, IncidentDetail, LinkedAlert, Task, TimelineEntry, Visibility } from './types.js';
import { updateMark, updateMessage } from './update-message.js';
import { checkPublicText, type AlertRef, type OwnerRef } from './validate.js';

/**
 * Who acts on an incident: a platform operator (console, API or the CLI on the host) or an admin
 * of one tenant. Operators see and change every incident; a tenant's caller only those that
 * name its tenant, and of those only what concerns it (visibility of timeline entries and tasks).
 */
export interface IncidentCaller {
  readonly kind: 'operator' | 'tenant';
  /** The tenant of a tenant's caller. */
  readonly tenant?: string;
  readonly actor: Actor;
  /** The caller's account, when a person: the default owner of what they open. */
  readonly accountId?: string;
  readonly requestId: string;
  readonly sourceIp: string;
  /** HTTP status for the audit events: 200 for requests, 0 for the CLI. */
  readonly status: number;
}

/** What `publish` receives: one public update for the status page (never tenant names, never patient data). */
export interface PublicUpdate {
  readonly incidentId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly state: IncidentState;
  readonly text: string;
  readonly at: number;
}

export interface IncidentsDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly accounts: Pick<Accounts, 'list' | 'access'>;
  readonly tenants: Pick<Tenants, 'get' | 'list'>;
  readonly alerts: Pick<Alerts, 'get' | 'settings'>;
  readonly escalated: Pick<EscalatedAlerts, 'get'>;
  readonly notifier: Notifier;
  readonly publicUrl: string | undefined;
  readonly operatorRealm: string;
  /**
   * The status page's intake of public updates: called when an update is marked public, and on
   * each state change of an incident that published before (the state as text). Optional: the
   * status page connects it.
   */
  readonly publish?: (update: PublicUpdate) => Promise<void>;
  /**
   * With a mail relay: the tenant's messages still waiting for it (the outbox). A customer
   * update's mail no longer there was taken by the relay (`sent`). Read to match, never shown.
   */
  readonly waitingMail?: (tenantId: string) => Promise<readonly Message[]>;
  /** Ids and counts only. */
  readonly log?: { warn(fields: object, message: string): void };
}

export interface OpenInput {
  readonly title: string;
  readonly severity: Severity;
  readonly tenants?: readonly string[];
  readonly alerts?: readonly AlertRef[];
  readonly awareAt?: number;
  readonly owner?: OwnerRef;
  readonly note?: string;
}

export interface ChangeInput {
  readonly title?: string;
  readonly severity?: Severity;
  readonly owner?: OwnerRef;
  readonly awareAt?: number;
  readonly reason?: string;
  readonly tenants?: readonly string[];
}

export interface TaskInput {
  readonly title?: string;
  readonly assignee?: string;
  readonly dueAt?: number;
  readonly done?: boolean;
}

export interface UpdateInput {
  readonly text: string;
  readonly publicText?: string;
}

export interface Incidents {
  list(caller: IncidentCaller, filter: Omit<IncidentFilter, 'tenant'> & { readonly tenant?: string }): Promise<Incident[]>;
  get(caller: IncidentCaller, id: string): Promise<IncidentDetail>;
  open(caller: IncidentCaller, input: OpenInput): Promise<IncidentDetail>;
  change(caller: IncidentCaller, id: string, input: ChangeInput): Promise<IncidentDetail>;
  transition(caller: IncidentCaller, id: string, to: IncidentState, reason: string): Promise<IncidentDetail>;
  note(caller: IncidentCaller, id: string, text: string): Promise<IncidentDetail>;
  linkAlert(caller: IncidentCaller, id: string, ref: AlertRef): Promise<IncidentDetail>;
  addTask(caller: IncidentCaller, id: string, input: TaskInput & { readonly title: string }): Promise<IncidentDetail>;
  changeTask(caller: IncidentCaller, id: string, taskId: string, input: TaskInput): Promise<IncidentDetail>;
  /** A customer update (operators only): mailed to each affected tenant's active admins and security contact, shown in their console; optionally public. */
  postUpdate(caller: IncidentCaller, id: string, input: UpdateInput): Promise<IncidentDetail>;
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const operatorsOnly = () => forbidden('Only the platform operators do this (customer updates, affected tenants).');

/** Whether the caller may see an entry or a task of this visibility. */
export const visibleTo = (caller: Pick<IncidentCaller, 'kind' | 'tenant'>, visibility: Visibility): boolean =>
  caller.kind === 'operator' || visibility === 'all' || visibility === `tenant:${caller.tenant ?? ''}`;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Incidents (NIST SP 800-61r2 §3): the record of one security incident of the platform or of
 * tenants — severity, state, owner, when the organisation became aware (GDPR Art. 33(1) counts
 * its 72 hours from there), the tenants it affects, linked alerts, an append-only timeline and
 * tasks. Every change is an audit event: in the operators' trail and each affected tenant's
 * trail for an operator's act (a clinic sees who touched an incident about it), in the tenant's
 * trail for a tenant admin's.
 */
export function createIncidents(deps: IncidentsDeps): Incidents {
  const { storage, clock, audit, operatorRealm } = deps;
  const db = storage.platform;
  const now = () => clock.now().getTime();

  async function audited(caller: IncidentCaller, incident: Pick<Incident, 'id' | 'tenants'>, action: AuditAction, detail: string, extraRealms: readonly string[] = []): Promise<void> {
    const event: AuditEventInput = {
      action,
      outcome: 'success',
      status: caller.status,
      actor: caller.actor,
      purpose: caller.kind === 'operator' ? 'SYSADMIN' : 'HOPERAT',
      resources: [`Incident/${incident.id}`],
      subjects: [],
      classes: [],
      requestId: caller.requestId,
      sourceIp: caller.sourceIp,
      detail,
    };
    const realms = caller.kind === 'operator' ? [operatorRealm, ...incident.tenants, ...extraRealms] : [caller.tenant as string];
    for (const realm of new Set(realms)) await audit.record(realm, [event]);
  }

  async function load(caller: IncidentCaller, id: string): Promise<Incident> {
    if (!idPattern.test(id)) throw notFound();
    const incident = await selectIncident(db, id);
    // Another tenant's incident is a 404, not a 403: its existence is not the caller's to know.
    if (incident === undefined || (caller.kind === 'tenant' && !incident.tenants.includes(caller.tenant as string))) throw notFound();
    return incident;
  }

  async function detail(caller: IncidentCaller, incident: Incident): Promise<IncidentDetail> {
    const [timeline, tasks, alerts, deliveries] = await Promise.all([selectTimeline(db, incident.id), selectTasks(db, incident.id), selectAlertLinks(db, incident.id), selectDeliveries(db, incident.id)]);
    const operator = caller.kind === 'operator';
    return {
      incident,
      timeline: timeline.filter((e) => visibleTo(caller, e.visibleTo)),
      tasks: tasks.filter((t) => visibleTo(caller, t.visibleTo)),
      alerts: operator ? alerts : alerts.filter((a) => a.realm === caller.tenant),
      deliveries: operator ? await withSent(incident.id, deliveries) : ([] as Delivery[]),
    };
  }

  /** Queued mail that left the outbox was taken by the relay: each update's mail names the incident and the update's number (update-message.ts). */
  async function withSent(incidentId: string, deliveries: readonly Delivery[]): Promise<Delivery[]> {
    if (deps.waitingMail === undefined || !deliveries.some((d) => d.status === 'queued')) return [...deliveries];
    const waiting = new Map<string, readonly Message[]>();
    for (const tenant of new Set(deliveries.filter((d) => d.status === 'queued').map((d) => d.tenant))) waiting.set(tenant, await deps.waitingMail(tenant).catch(() => undefined) ?? []);
    return deliveries.map((d) => {
      if (d.status !== 'queued') return d;
      const still = (waiting.get(d.tenant) ?? []).some((m) => m.kind === 'incident' && m.accountId === d.recipient && m.text.includes(updateMark(incidentId, d.seq)));
      return still ? d : { ...d, status: 'sent' };
    });
  }

  const ownVisibility = (caller: IncidentCaller): Visibility => (caller.kind === 'operator' ? 'operators' : `tenant:${caller.tenant as string}`);
  const entry = (caller: IncidentCaller, kind: EntryKind, text: string, visibility: Visibility, data: Record<string, unknown> = {}): Omit<TimelineEntry, 'seq'> => ({ kind, at: now(), by: caller.actor.id, visibleTo: visibility, text, data });

  async function checkTenants(ids: readonly string[]): Promise<void> {
    for (const id of ids) if ((await deps.tenants.get(id)) === undefined) throw invalid(`tenants: no tenant ${id}`);
  }

  async function checkOwner(caller: IncidentCaller, owner: OwnerRef, tenants: readonly string[]): Promise<void> {
    const refuse = () => invalid('owner: an active operator, or an active admin of an affected tenant');
    if (caller.kind === 'tenant' && owner.realm !== caller.tenant) throw invalid('owner: an admin of your tenant');
    const wanted = owner.realm === operatorRealm ? 'operator' : 'tenant-admin';
    if (owner.realm !== operatorRealm && !tenants.includes(owner.realm)) throw refuse();
    const account = await deps.accounts.access(owner.realm, owner.accountId).catch(() => undefined);
    if (account === undefined || account.status !== 'active' || account.role !== wanted) throw refuse();
  }

  /** An alert's outward fields (alert-payload.ts), as the caller may read them: a tenant its own; operators the platform's and those escalated to them. */
  async function alertOf(caller: IncidentCaller, ref: AlertRef): Promise<Omit<LinkedAlert, 'linkedAt' | 'linkedBy'>> {
    const missing = () => new IncidentError('incident-alert-not-found', `No alert ${ref.realm}/${ref.alertId} that you may link.`, { status: 404, expose: true });
    let alert;
    if (caller.kind === 'tenant') {
      if (ref.realm !== caller.tenant) throw missing();
      alert = (await deps.alerts.get(ref.realm, ref.alertId).catch(() => undefined))?.alert;
    } else if (ref.realm === operatorRealm) {
      alert = (await deps.alerts.get(ref.realm, ref.alertId).catch(() => undefined))?.alert;
    } else {
      const view = await deps.escalated.get(ref.realm, ref.alertId).catch(() => undefined);
      alert = view === undefined ? undefined : currentAlert(view);
    }
    if (alert === undefined) throw missing();
    return { realm: ref.realm, alertId: alert.id, rule: alert.rule, severity: alert.severity, title: alert.title, subject: alert.subject, summary: alert.summary, state: alert.state, count: alert.count, firstAt: alert.firstAt, lastAt: alert.lastAt };
  }

  async function publish(incident: Incident, text: string): Promise<void> {
    if (deps.publish === undefined) return;
    try {
      await deps.publish({ incidentId: incident.id, title: incident.title, severity: incident.severity, state: incident.state, text, at: now() });
    } catch {
      // The incident's record stands; the status page catches up with the next publication.
      deps.log?.warn({ event: 'incident.publish_failed', incident: incident.id }, 'a public update did not reach the status page');
    }
  }

  async function mailUpdate(incident: Incident, seq: number, text: string): Promise<void> {
    for (const tenantId of incident.tenants) {
      const tenant = await deps.tenants.get(tenantId);
      if (tenant === undefined) continue;
      const admins = (await deps.accounts.list(tenantId)).filter((a) => a.role === 'tenant-admin' && a.status === 'active');
      const contact = (await deps.alerts.settings(tenantId)).securityContact;
      const recipients = [...admins.map((a) => ({ accountId: a.id, email: a.email })), ...(contact === undefined ? [] : [{ accountId: 'security-contact', email: contact }])];
      for (const to of recipients) {
        let status: Delivery['status'] = 'queued';
        try {
          await deps.notifier.send(updateMessage({ incident, seq, tenant: { id: tenant.id, name: tenant.name }, text, publicUrl: deps.publicUrl, to }));
        } catch {
          status = 'failed';
          deps.log?.warn({ event: 'incident.update_unsent', incident: incident.id, tenant: tenantId, recipient: to.accountId }, 'a customer update was not taken by the notifier');
        }
        await insertDelivery(db, incident.id, { seq, tenant: tenantId, recipient: to.accountId, status, at: now() });
      }
    }
  }

  return {
    async list(caller, filter) {
      const tenant = caller.kind === 'tenant' ? caller.tenant : filter.tenant;
      return selectIncidents(db, { ...filter, ...(tenant === undefined ? {} : { tenant }) });
    },

    async get(caller, id) {
      return detail(caller, await load(caller, id));
    },

    async open(caller, input) {
      const at = now();
      const refs = input.alerts ?? [];
      const linked: Array<Omit<LinkedAlert, 'linkedAt' | 'linkedBy'>> = [];
      for (const ref of refs) linked.push(await alertOf(caller, ref));
      // A tenant admin opens incidents of their own tenant only; a linked tenant alert makes its tenant affected.
      const tenants = caller.kind === 'tenant' ? [caller.tenant as string] : [...new Set([...(input.tenants ?? []), ...linked.filter((a) => a.realm !== operatorRealm).map((a) => a.realm)])].sort();
      if (caller.kind === 'tenant' && input.tenants !== undefined && input.tenants.some((t) => t !== caller.tenant)) throw invalid('tenants: a tenant admin opens incidents of their own tenant only');
      await checkTenants(tenants);
      const owner = input.owner ?? (caller.accountId === undefined ? undefined : { realm: caller.kind === 'operator' ? operatorRealm : (caller.tenant as string), accountId: caller.accountId });
      if (input.owner !== undefined) await checkOwner(caller, input.owner, tenants);
      if (input.awareAt !== undefined && input.awareAt > at) throw invalid('awareAt: not in the future');
      const incident: Incident = {
        id: timeOrderedId(at),
        title: input.title,
        severity: input.severity,
        state: 'triage',
        owner: owner ?? { realm: '', accountId: '' },
        openedBy: caller.actor.id,
        openedAt: at,
        awareAt: input.awareAt ?? at,
        updatedAt: at,
        closedAt: undefined,
        published: false,
        tenants,
      };
      await db.transaction(async (tx) => {
        await insertIncident(tx, incident);
        await appendEntry(tx, incident.id, entry(caller, 'opened', incident.title, 'all', { severity: incident.severity, awareAt: iso(incident.awareAt) }));
        if (input.note !== undefined && input.note !== '') await appendEntry(tx, incident.id, entry(caller, 'note', input.note, ownVisibility(caller)));
        for (const alert of linked) {
          await insertAlertLink(tx, incident.id, { ...alert, linkedAt: at, linkedBy: caller.actor.id });
          await appendEntry(tx, incident.id, entry(caller, 'alert', `${alert.rule}: ${alert.summary}`, alert.realm === operatorRealm ? 'operators' : `tenant:${alert.realm}`, { realm: alert.realm, alertId: alert.alertId }));
        }
      });
      await audited(caller, incident, 'incident.opened', `${incident.severity}${linked.length === 0 ? '' : `, ${linked.length} alert(s)`}`);
      return detail(caller, incident);
    },

    async change(caller, id, input) {
      const incident = await load(caller, id);
      const at = now();
      if (input.tenants !== undefined && caller.kind !== 'operator') throw operatorsOnly();
      const tenants = input.tenants ?? incident.tenants;
      if (input.tenants !== undefined) await checkTenants(tenants);
      if (input.owner !== undefined) await checkOwner(caller, input.owner, tenants);
      if (input.awareAt !== undefined) {
        if (input.reason === undefined || input.reason === '') throw invalid('reason: changing the awareness time needs a reason (the notification deadlines count from it)');
        if (input.awareAt > at) throw invalid('awareAt: not in the future');
      }
      const next: Incident = {
        ...incident,
        title: input.title ?? incident.title,
        severity: input.severity ?? incident.severity,
        owner: input.owner ?? incident.owner,
        awareAt: input.awareAt ?? incident.awareAt,
        tenants,
        updatedAt: at,
      };
      const changes: Array<[string, Visibility]> = [];
      if (next.title !== incident.title) changes.push([`title: ${next.title}`, 'all']);
      if (next.severity !== incident.severity) changes.push([`severity: ${incident.severity} → ${next.severity}`, 'all']);
      if (input.owner !== undefined && (input.owner.realm !== incident.owner.realm || input.owner.accountId !== incident.owner.accountId)) changes.push([`owner: ${input.owner.realm}/${input.owner.accountId}`, 'all']);
      if (next.awareAt !== incident.awareAt) changes.push([`aware since: ${iso(incident.awareAt)} → ${iso(next.awareAt)} (${input.reason ?? ''})`, 'all']);
      const added = tenants.filter((t) => !incident.tenants.includes(t));
      const removed = incident.tenants.filter((t) => !tenants.includes(t));
      if (added.length + removed.length > 0) changes.push([`tenants: ${[...added.map((t) => `+${t}`), ...removed.map((t) => `-${t}`)].join(' ')}`, 'operators']);
      if (changes.length === 0) return detail(caller, incident);
      await db.transaction(async (tx) => {
        await updateIncident(tx, next);
        if (added.length + removed.length > 0) await replaceTenants(tx, id, tenants);
        for (const [text, visibility] of changes) await appendEntry(tx, id, entry(caller, 'action', text, visibility));
      });
      // A tenant removed from the incident still learns, in its trail, that it was.
      await audited(caller, next, 'incident.changed', changes.map(([text]) => text.split(':')[0]).join(', '), removed);
      return detail(caller, next);
    },

    async transition(caller, id, to, reason) {
      const incident = await load(caller, id);
      const why = checkTransition(incident.state, to, reason);
      const at = now();
      const next: Incident = { ...incident, state: to, updatedAt: at, closedAt: to === 'closed' ? at : undefined };
      await db.transaction(async (tx) => {
        await updateIncident(tx, next);
        await appendEntry(tx, id, entry(caller, 'state', why, 'all', { from: incident.state, to }));
      });
      await audited(caller, next, 'incident.state_changed', `${incident.state} → ${to}`);
      if (next.published) await publish(next, to);
      return detail(caller, next);
    },

    async note(caller, id, text) {
      const incident = await load(caller, id);
      await appendEntry(db, id, entry(caller, 'note', text, ownVisibility(caller)));
      await audited(caller, incident, 'incident.noted', '');
      return detail(caller, incident);
    },

    async linkAlert(caller, id, ref) {
      const incident = await load(caller, id);
      const alert = await alertOf(caller, ref);
      const tenants = alert.realm === operatorRealm || incident.tenants.includes(alert.realm) ? incident.tenants : [...incident.tenants, alert.realm].sort();
      const at = now();
      await db.transaction(async (tx) => {
        if (!(await insertAlertLink(tx, id, { ...alert, linkedAt: at, linkedBy: caller.actor.id }))) return;
        if (tenants !== incident.tenants) await replaceTenants(tx, id, tenants);
        await appendEntry(tx, id, entry(caller, 'alert', `${alert.rule}: ${alert.summary}`, alert.realm === operatorRealm ? 'operators' : `tenant:${alert.realm}`, { realm: alert.realm, alertId: alert.alertId }));
      });
      const next = { ...incident, tenants };
      await audited(caller, next, 'incident.alert_linked', `${alert.realm}/${alert.alertId}`);
      return detail(caller, next);
    },

    async addTask(caller, id, input) {
      const incident = await load(caller, id);
      const at = now();
      const task: Task = { id: timeOrderedId(at), title: input.title, assignee: input.assignee, dueAt: input.dueAt, visibleTo: ownVisibility(caller), createdAt: at, createdBy: caller.actor.id, doneAt: undefined, doneBy: undefined };
      await insertTask(db, id, task);
      await audited(caller, incident, 'incident.task_added', task.id);
      return detail(caller, incident);
    },

    async changeTask(caller, id, taskId, input) {
      const incident = await load(caller, id);
      const task = (await selectTasks(db, id)).find((t) => t.id === taskId && visibleTo(caller, t.visibleTo));
      if (task === undefined) throw new IncidentError('task-not-found', 'No such task in this incident.', { status: 404, expose: true });
      const at = now();
      const done = input.done === undefined ? task.doneAt !== undefined : input.done;
      const next: Task = {
        ...task,
        title: input.title ?? task.title,
        assignee: input.assignee ?? task.assignee,
        dueAt: input.dueAt ?? task.dueAt,
        doneAt: done ? (task.doneAt ?? at) : undefined,
        doneBy: done ? (task.doneBy ?? caller.actor.id) : undefined,
      };
      await db.transaction(async (tx) => {
        await updateTask(tx, id, next);
        if (done && task.doneAt === undefined) await appendEntry(tx, id, entry(caller, 'task', next.title, task.visibleTo, { taskId }));
      });
      await audited(caller, incident, 'incident.task_changed', `${taskId}${done && task.doneAt === undefined ? ' done' : ''}`);
      return detail(caller, incident);
    },

    async postUpdate(caller, id, input) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const incident = await load(caller, id);
      if (input.publicText !== undefined) checkPublicText(input.publicText, await deps.tenants.list());
      if (incident.tenants.length === 0 && input.publicText === undefined) throw invalid('text: this incident affects no tenant; mark the update public (publicText) or name the affected tenants first');
      const isPublic = input.publicText !== undefined;
      const next: Incident = { ...incident, published: incident.published || isPublic, updatedAt: now() };
      const seq = await db.transaction(async (tx) => {
        const at = await appendEntry(tx, id, entry(caller, 'update', input.text, 'all', isPublic ? { public: true, publicText: input.publicText } : { public: false }));
        if (next.published !== incident.published) await updateIncident(tx, next);
        return at;
      });
      await audited(caller, incident, 'incident.update_posted', `${incident.tenants.length} tenant(s)${isPublic ? ', public' : ''}`);
      await mailUpdate(incident, seq, input.text);
      if (isPublic) await publish(next, input.publicText as string);
      return detail(caller, next);
    },
  };
}
