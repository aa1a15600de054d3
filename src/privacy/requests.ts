import type { Audit, AuditAction, AuditEventInput } from '../audit/index.js';
import { forbidden, hasCapability, personRoles, type Accounts, type Notifier, type PersonRole } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlExecutor, Storage } from '../platform/db/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { Records } from '../records/index.js';
import { addCalendarMonths, firstDueAt, maxExtensionMonths, requestStageAt, requestStages } from './requests-deadline.js';
import { invalidRequest, RequestError, requestNotFound, stateConflict } from './requests-errors.js';
import { requestMessage, type RequestNews } from './requests-mail.js';
import { checkChanges } from './requests-rectification.js';
import { openRequestTexts, sealRequestTexts } from './requests-sealing.js';
import { appendLog, claimStages, clearSealed, insertRequest, releaseStages, selectLog, selectRequest, selectRequests, updateRequest, type RequestFilter, type RequestRow } from './requests-store.js';
import { isRequestChannel, isRequestType, openStates, requestChannels, requestTypes, type PrivacyRequest, type RequestCaller, type RequestChannel, type RequestHistoryEntry, type RequestTexts, type RequestType } from './requests-types.js';

const defaults = {
  /** Free text a person writes: a request, a verification note, a reason, a note. */
  textChars: 4000,
  /** A reason (rejection, extension) says something: at least this long. */
  reasonChars: 10,
  listLimit: 500,
  /** How far back staff may date a request's receipt: a letter found late is still due a month after it arrived. */
  backdateDays: 92,
} as const;

/**
 * Runs a type's fulfilment (an export, the erasure, the restriction): its note and link complete
 * the request — or, for work that finishes later (the personal download), `pending` is a staff
 * note and the request stays in progress until `settle` completes it.
 */
export type Fulfilment = (tenantId: string, request: PrivacyRequest, by: RequestCaller) => Promise<{ note: string; link?: string } | { pending: string }>;

export interface PrivacyRequestsDeps {
  readonly storage: Storage;
  readonly keys: Keys;
  readonly audit: Audit;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly accounts: Pick<Accounts, 'list' | 'access'>;
  readonly records: Pick<Records, 'peek'>;
  /** The tenants whose queues the deadline job walks. */
  readonly tenantIds: () => Promise<readonly string[]>;
  /** Where the portal is, for the links in mails (`server.publicUrl`); a path alone without it. */
  readonly publicUrl?: string | undefined;
  /** The other privacy services that answer a request of a type (wired by the composition root). */
  readonly fulfil?: Partial<Record<RequestType, Fulfilment>> | undefined;
}

export interface OpenInput {
  readonly type: unknown;
  /** Staff name the patient (`Patient/<id>`); a patient's is their own. */
  readonly subject?: unknown;
  readonly channel?: unknown;
  readonly text?: unknown;
  readonly verification?: unknown;
  readonly changes?: unknown;
  /** Staff: when the letter or e-mail arrived (ISO 8601 date or time; default now) — the month runs from receipt. */
  readonly receivedAt?: unknown;
}

export interface RequestDetail extends PrivacyRequest {
  readonly history: readonly RequestHistoryEntry[];
}

export interface PrivacyRequests {
  /** A request received: by the patient for themself, or recorded by staff with how identity was verified. Due one calendar month later. */
  open(tenantId: string, by: RequestCaller, input: OpenInput): Promise<PrivacyRequest>;
  /** One request with its texts and history (a patient: only their own; else 404). Audited as `privacy.request_read`. */
  get(tenantId: string, by: RequestCaller, id: string): Promise<RequestDetail>;
  /** Staff: the queue, soonest due first; a patient: their own. Without texts. */
  list(tenantId: string, by: RequestCaller, filter?: Omit<RequestFilter, 'subject' | 'limit'> & { readonly limit?: number }): Promise<PrivacyRequest[]>;
  /** Gives the request an owner (a staff account with `privacy:manage`); a received request is then in progress. */
  assign(tenantId: string, by: RequestCaller, id: string, owner: unknown): Promise<PrivacyRequest>;
  /** Once, before the first due date, by 1–2 months with a stated reason (Art. 12(3)); the subject is told by mail. */
  extend(tenantId: string, by: RequestCaller, id: string, input: { months: unknown; reason: unknown }): Promise<PrivacyRequest>;
  /** Adds a staff note (sealed). */
  note(tenantId: string, by: RequestCaller, id: string, text: unknown): Promise<PrivacyRequest>;
  complete(tenantId: string, id: string, input: { by: RequestCaller; note: unknown; link?: string; news?: RequestNews }): Promise<PrivacyRequest>;
  /** A reason is required (Art. 12(4)); the subject is told, with their right to complain. */
  reject(tenantId: string, id: string, input: { by: RequestCaller; reason: unknown }): Promise<PrivacyRequest>;
  /** By the subject (or staff recording that the subject withdrew it), while open. */
  withdraw(tenantId: string, by: RequestCaller, id: string): Promise<PrivacyRequest>;
  /** Whether a fulfilment is wired for the type. */
  fulfils(type: RequestType): boolean;
  /** Wires the type's fulfilment (a service made after this one: the personal download). */
  fulfilBy(type: RequestType, fulfilment: Fulfilment): void;
  /** Runs the type's fulfilment and completes the request with its note and link (or, when it finishes later, notes that it started). */
  fulfil(tenantId: string, by: RequestCaller, id: string): Promise<PrivacyRequest>;
  /**
   * The work a fulfilment started has ended (the system, not a person): `done` completes the
   * request with its note and link and tells the patient; `failed` leaves it open with a note
   * for staff, who start it again. A request no longer open is left as it is.
   */
  settle(tenantId: string, id: string, outcome: { done: { note: string; link?: string } } | { failed: string }): Promise<PrivacyRequest | undefined>;
  /** GDPR Art. 17: the subject's requests lose their sealed text, keeping id, type, dates and state. Returns how many. */
  eraseOf(tenantId: string, patient: string, by?: RequestCaller): Promise<number>;
  /** One round of the deadline job: `privacy.request_due` once per request and stage; how many it recorded. */
  checkDeadlines(): Promise<number>;
  start(options: { everyMs: number; firstAfterMs?: number; leadership?: Leadership }): { stop(): Promise<void> };
}

const patientRef = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const idShape = /^[0-9a-f-]{36}$/;
const systemCaller: RequestCaller = { actor: { id: 'system:privacy-requests', role: 'system', client: 'tresor' }, role: 'system', requestId: '', sourceIp: 'local' };

function text(value: unknown, name: string, { required = false, min = 1 }: { required?: boolean; min?: number } = {}): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw invalidRequest(`${name}: required`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalidRequest(`${name}: text`);
  const trimmed = value.normalize('NFC').trim();
  // Line breaks and tabs are text; other control characters are not.
  if (trimmed.length < min || trimmed.length > defaults.textChars || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(trimmed)) {
    throw invalidRequest(`${name}: ${min}–${defaults.textChars} printable characters`);
  }
  return trimmed === '' ? undefined : trimmed;
}

export function createPrivacyRequests({ storage, keys, audit, clock, notifier, accounts, records, tenantIds, publicUrl, fulfil }: PrivacyRequestsDeps): PrivacyRequests {
  const now = () => clock.now().getTime();
  const handlers: Partial<Record<RequestType, Fulfilment>> = { ...fulfil };
  const sealTexts = (tenantId: string, id: string, subject: string, texts: RequestTexts) => sealRequestTexts(keys, tenantId, id, subject, texts);
  const openTexts = (tenantId: string, row: RequestRow) => openRequestTexts(keys, tenantId, row.id, row.sealed);

  const view = (row: RequestRow, texts?: RequestTexts): PrivacyRequest => ({
    id: row.id,
    type: row.type,
    subject: row.subject,
    channel: row.channel,
    state: row.state,
    receivedAt: row.receivedAt,
    dueAt: row.dueAt,
    ...(row.extendedAt === undefined ? {} : { extendedAt: row.extendedAt }),
    ...(row.owner === undefined ? {} : { owner: row.owner }),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt,
    ...(row.closedAt === undefined ? {} : { closedAt: row.closedAt }),
    ...(texts === undefined ? {} : { texts }),
  });

  const event = (by: RequestCaller, action: AuditAction, row: { id: string; subject: string } | undefined, detail: string, outcome: 'success' | 'failure' = 'success', status = 200): AuditEventInput => ({
    action,
    outcome,
    status: by.role === 'system' ? 0 : status,
    actor: by.actor,
    // HL7 v3 PATRQT: processing at the data subject's request.
    purpose: 'PATRQT',
    resources: row === undefined ? [] : [`PrivacyRequest/${row.id}`],
    subjects: row === undefined ? [] : [row.subject],
    classes: [],
    requestId: by.requestId,
    sourceIp: by.sourceIp,
    detail,
  });

  const isStaff = (by: RequestCaller) => by.role === 'system' || (by.role !== 'patient' && hasCapability(by.role, 'privacy:manage'));

  /** Staff with `privacy:manage` (or the system); a refusal is recorded as `access.denied` before it is answered (OWASP ASVS 5 V16.3.2). */
  async function requireStaff(tenantId: string, by: RequestCaller, row?: RequestRow): Promise<void> {
    if (isStaff(by)) return;
    const error = forbidden(`Your role (${by.role}) does not allow this (privacy:manage).`);
    await audit.record(tenantId, [event(by, 'access.denied', row, error.code, 'failure', 403)]);
    throw error;
  }

  /** The request, if the caller may see it: staff any, a patient their own (else the same 404 as for none). */
  async function find(tenantId: string, by: RequestCaller, id: string): Promise<RequestRow> {
    if (!idShape.test(id)) throw requestNotFound();
    const row = await selectRequest(await storage.tenant(tenantId), id);
    if (row === undefined) throw requestNotFound();
    if (by.role === 'patient' ? by.patient !== row.subject : !isStaff(by)) {
      if (by.role !== 'patient') await requireStaff(tenantId, by, row);
      throw requestNotFound();
    }
    return row;
  }

  /** A change and its audit event and history entry, in one transaction; a concurrent change wins and this one is a conflict. */
  async function change(tenantId: string, by: RequestCaller, before: RequestRow, after: RequestRow, action: AuditAction, detail: string, also?: (tx: SqlExecutor) => Promise<void>): Promise<RequestRow> {
    const db = await storage.tenant(tenantId);
    await db.transaction(async (tx) => {
      if (!(await updateRequest(tx, before, after))) throw stateConflict('The request changed meanwhile; open it again.');
      await appendLog(tx, before.id, { at: after.updatedAt, by: by.actor.id, action, state: after.state });
      await also?.(tx);
      await audit.appendIn(tx, tenantId, [event(by, action, after, detail)]);
    });
    return after;
  }

  const requireOpen = (row: RequestRow) => {
    if (!openStates.includes(row.state)) throw stateConflict(`The request is ${row.state}; only a received or in-progress request can change.`);
  };

  /** Mails the subject's patient account, when they have one with an e-mail address; whether it was sent. */
  async function tell(tenantId: string, row: RequestRow, news: RequestNews): Promise<boolean> {
    const account = (await accounts.list(tenantId)).find((a) => a.patient === row.subject && a.status !== 'disabled');
    if (account === undefined || account.email === '') return false;
    const path = `/tenants/${encodeURIComponent(tenantId)}/me/requests`;
    const portalUrl = publicUrl === undefined ? path : `${publicUrl.replace(/\/+$/, '')}${path}`;
    await notifier.send(requestMessage({ tenantId, accountId: account.id, to: account.email, type: row.type, news, ...(news === 'extended' ? { dueAt: row.dueAt } : {}), portalUrl }));
    return true;
  }

  async function withTexts(tenantId: string, row: RequestRow, change: (texts: RequestTexts) => RequestTexts): Promise<string | undefined> {
    return sealTexts(tenantId, row.id, row.subject, change((await openTexts(tenantId, row)) ?? {}));
  }

  async function checkTenant(tenantId: string, at: number): Promise<number> {
    const db = await storage.tenant(tenantId);
    let raised = 0;
    for (const row of await selectRequests(db, { open: true, limit: 10_000 })) {
      const stage = requestStageAt(row.receivedAt, row.dueAt, at);
      if (stage === undefined || row.stages.includes(stage)) continue;
      // One event per request and stage; a round that finds both passed at once (the server
      // was down) raises the latest only and marks the earlier one as passed.
      const upTo = requestStages.slice(0, requestStages.indexOf(stage) + 1).filter((s) => !row.stages.includes(s));
      if (!(await claimStages(db, row, upTo))) continue;
      try {
        await audit.record(tenantId, [event(systemCaller, 'privacy.request_due', row, detailOf(row, `stage=${stage} due=${new Date(row.dueAt).toISOString()}`))]);
      } catch (error) {
        // Not recorded, not raised: the claim is given back and the next round tries again.
        await releaseStages(db, row.id, row.stages);
        throw error;
      }
      raised += 1;
    }
    return raised;
  }

  const detailOf = (row: RequestRow, extra = '') => `request=${row.id} type=${row.type} state=${row.state}${extra === '' ? '' : ` ${extra}`}`;

  const service: PrivacyRequests = {
    async open(tenantId, by, input) {
      if (!isRequestType(input.type)) throw invalidRequest(`type: one of ${requestTypes.join(', ')}`);
      const type = input.type;
      let subject: string;
      let channel: RequestChannel;
      let verification: string | undefined;
      const at = now();
      let receivedAt = at;
      if (by.role === 'patient') {
        if (by.patient === undefined) throw forbidden('Your account is not linked to a patient record.');
        if (input.subject !== undefined && input.subject !== by.patient) throw invalidRequest('subject: your own record only');
        if (input.channel !== undefined && input.channel !== 'portal') throw invalidRequest('channel: portal');
        subject = by.patient;
        channel = 'portal';
      } else {
        await requireStaff(tenantId, by);
        if (typeof input.subject !== 'string' || !patientRef.test(input.subject)) throw invalidRequest('subject: Patient/<id>');
        if (!isRequestChannel(input.channel) || input.channel === 'portal') throw invalidRequest(`channel: one of ${requestChannels.filter((c) => c !== 'portal').join(', ')}`);
        subject = input.subject;
        channel = input.channel;
        // GDPR Art. 12(6): a request not made through a signed-in account is answered only once the person is known.
        verification = text(input.verification, 'verification', { required: true, min: defaults.reasonChars });
        if (input.receivedAt !== undefined && input.receivedAt !== '') {
          const given = typeof input.receivedAt === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/.test(input.receivedAt) ? Date.parse(input.receivedAt) : NaN;
          if (!(given <= at && given >= at - defaults.backdateDays * 86_400_000)) throw invalidRequest(`receivedAt: a date (YYYY-MM-DD) of the last ${defaults.backdateDays} days, not in the future`);
          receivedAt = given;
        }
      }
      const request = text(input.text, 'text');
      const changes = input.changes === undefined || input.changes === null ? undefined : checkChanges(input.changes);
      if (type !== 'rectification' && changes !== undefined) throw invalidRequest('changes: only a rectification proposes changes');
      if (type === 'rectification' && (changes === undefined || Object.keys(changes).length === 0) && request === undefined) throw invalidRequest('changes or text: what is to be rectified');
      const db = await storage.tenant(tenantId);
      const existing = await records.peek({ tenantId, db }, 'Patient', subject.slice('Patient/'.length));
      if (existing === undefined || existing.deleted) throw invalidRequest('subject: no such patient');
      const id = timeOrderedId(at);
      const texts: RequestTexts = { ...(request === undefined ? {} : { text: request }), ...(verification === undefined ? {} : { verification }), ...(changes === undefined || Object.keys(changes).length === 0 ? {} : { changes }) };
      const row: RequestRow = {
        id,
        type,
        subject,
        channel,
        state: 'received',
        receivedAt,
        dueAt: firstDueAt(receivedAt),
        extendedAt: undefined,
        owner: undefined,
        createdBy: by.actor.id,
        updatedAt: at,
        closedAt: undefined,
        stages: [],
        sealed: await sealTexts(tenantId, id, subject, texts),
      };
      await db.transaction(async (tx) => {
        await insertRequest(tx, row);
        await appendLog(tx, id, { at, by: by.actor.id, action: 'privacy.request_received', state: 'received' });
        await audit.appendIn(tx, tenantId, [event(by, 'privacy.request_received', row, detailOf(row, `channel=${channel} due=${new Date(row.dueAt).toISOString()}`), 'success', 201)]);
      });
      return view(row, texts);
    },

    async get(tenantId, by, id) {
      const row = await find(tenantId, by, id);
      const texts = await openTexts(tenantId, row);
      const history = await selectLog(await storage.tenant(tenantId), id);
      await audit.record(tenantId, [event(by, 'privacy.request_read', row, detailOf(row))]);
      return { ...view(row, texts), history };
    },

    async list(tenantId, by, filter = {}) {
      const limit = Math.min(Math.max(1, filter.limit ?? defaults.listLimit), defaults.listLimit);
      if (by.role === 'patient') {
        if (by.patient === undefined) return [];
        return (await selectRequests(await storage.tenant(tenantId), { ...filter, subject: by.patient, limit })).map((row) => view(row));
      }
      await requireStaff(tenantId, by);
      const rows = await selectRequests(await storage.tenant(tenantId), { ...filter, limit });
      // The queue names patients (ids): reading it is on the record, as a count.
      await audit.record(tenantId, [{ ...event(by, 'privacy.request_read', undefined, `queue count=${rows.length}`), subjects: [...new Set(rows.map((r) => r.subject))] }]);
      return rows.map((row) => view(row));
    },

    async assign(tenantId, by, id, owner) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      requireOpen(row);
      if (typeof owner !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(owner)) throw invalidRequest('owner: a staff account id');
      const account = await accounts.access(tenantId, owner);
      if (account === undefined || account.status === 'disabled' || account.role === 'patient' || !(personRoles as readonly string[]).includes(account.role) || !hasCapability(account.role as PersonRole, 'privacy:manage')) throw invalidRequest('owner: an active staff account whose role handles requests (privacy:manage)');
      const after: RequestRow = { ...row, owner, state: 'in-progress', updatedAt: now() };
      return view(await change(tenantId, by, row, after, 'privacy.request_assigned', detailOf(after, `owner=${owner}`)));
    },

    async extend(tenantId, by, id, { months, reason }) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      requireOpen(row);
      const count = typeof months === 'number' ? months : typeof months === 'string' && /^\d$/.test(months) ? Number(months) : NaN;
      if (!(count >= 1 && count <= maxExtensionMonths)) throw invalidRequest(`months: 1 or ${maxExtensionMonths}`);
      const why = text(reason, 'reason', { required: true, min: defaults.reasonChars }) as string;
      const at = now();
      if (row.extendedAt !== undefined) throw new RequestError('request-extension-refused', 'A request can be extended once (GDPR Art. 12(3)).', { status: 409, expose: true });
      // The subject must be told within the first month: past the first due date it is too late.
      if (at > row.dueAt) throw new RequestError('request-extension-refused', 'The first month has passed: the deadline can no longer be extended (GDPR Art. 12(3)).', { status: 409, expose: true });
      const after: RequestRow = { ...row, dueAt: addCalendarMonths(row.dueAt, count), extendedAt: at, state: row.state === 'received' ? 'in-progress' : row.state, stages: [], updatedAt: at, sealed: await withTexts(tenantId, row, (t) => ({ ...t, extensionReason: why })) };
      await change(tenantId, by, row, after, 'privacy.request_extended', detailOf(after, `months=${count} due=${new Date(after.dueAt).toISOString()}`));
      await tell(tenantId, after, 'extended');
      return view(after);
    },

    async note(tenantId, by, id, value) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      const note = text(value, 'note', { required: true }) as string;
      const at = now();
      const after: RequestRow = { ...row, updatedAt: at, sealed: await withTexts(tenantId, row, (t) => ({ ...t, notes: [...(t.notes ?? []), { at, by: by.actor.id, text: note }] })) };
      return view(await change(tenantId, by, row, after, 'privacy.request_noted', detailOf(after)));
    },

    async complete(tenantId, id, { by, note, link, news }) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      requireOpen(row);
      const outcome = text(note, 'note', { required: true }) as string;
      if (link !== undefined && (typeof link !== 'string' || link.length > 2000 || !/^(\/(?!\/)|https:\/\/)/.test(link))) throw invalidRequest('link: a path or an https address');
      const at = now();
      const after: RequestRow = { ...row, state: 'completed', closedAt: at, updatedAt: at, sealed: await withTexts(tenantId, row, (t) => ({ ...t, outcome, ...(link === undefined ? {} : { link }) })) };
      await change(tenantId, by, row, after, 'privacy.request_completed', detailOf(after, news === 'accepted' ? 'outcome=accepted' : ''));
      await tell(tenantId, after, news ?? 'completed');
      return view(after);
    },

    async reject(tenantId, id, { by, reason }) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      requireOpen(row);
      const why = text(reason, 'reason', { required: true, min: defaults.reasonChars }) as string;
      const at = now();
      const after: RequestRow = { ...row, state: 'rejected', closedAt: at, updatedAt: at, sealed: await withTexts(tenantId, row, (t) => ({ ...t, outcome: why })) };
      await change(tenantId, by, row, after, 'privacy.request_rejected', detailOf(after));
      await tell(tenantId, after, 'rejected');
      return view(after);
    },

    async withdraw(tenantId, by, id) {
      const row = await find(tenantId, by, id);
      requireOpen(row);
      const at = now();
      const after: RequestRow = { ...row, state: 'withdrawn', closedAt: at, updatedAt: at };
      return view(await change(tenantId, by, row, after, 'privacy.request_withdrawn', detailOf(after)));
    },

    fulfils: (type) => handlers[type] !== undefined,
    fulfilBy(type, fulfilment) {
      handlers[type] = fulfilment;
    },

    async fulfil(tenantId, by, id) {
      await requireStaff(tenantId, by);
      const row = await find(tenantId, by, id);
      requireOpen(row);
      const handler = handlers[row.type];
      if (handler === undefined) throw new RequestError('request-fulfil-unavailable', `Requests of type ${row.type} are completed with a note.`, { status: 409, expose: true });
      const result = await handler(tenantId, view(row, await openTexts(tenantId, row)), by);
      if ('pending' in result) {
        // Started, not done: the request is being worked on, and says so to staff.
        const at = now();
        const after: RequestRow = { ...row, state: 'in-progress', updatedAt: at, sealed: await withTexts(tenantId, row, (t) => ({ ...t, notes: [...(t.notes ?? []), { at, by: by.actor.id, text: result.pending }] })) };
        return view(await change(tenantId, by, row, after, 'privacy.request_noted', detailOf(after, 'fulfilment=started')));
      }
      return service.complete(tenantId, id, { by, note: result.note, ...(result.link === undefined ? {} : { link: result.link }) });
    },

    async settle(tenantId, id, outcome) {
      if (!idShape.test(id)) return undefined;
      const row = await selectRequest(await storage.tenant(tenantId), id);
      if (row === undefined || !openStates.includes(row.state)) return undefined;
      if ('done' in outcome) return service.complete(tenantId, id, { by: systemCaller, note: outcome.done.note, ...(outcome.done.link === undefined ? {} : { link: outcome.done.link }) });
      return service.note(tenantId, systemCaller, id, outcome.failed);
    },

    async eraseOf(tenantId, patient, by = systemCaller) {
      if (!patientRef.test(patient)) throw new TypeError('patient: Patient/<id>');
      const db = await storage.tenant(tenantId);
      return db.transaction(async (tx) => {
        const ids = await clearSealed(tx, patient);
        if (ids.length > 0) await audit.appendIn(tx, tenantId, [{ ...event(by, 'privacy.request_erased', { id: ids[0] as string, subject: patient }, `requests=${ids.length}`), resources: ids.map((i) => `PrivacyRequest/${i}`) }]);
        return ids.length;
      });
    },

    async checkDeadlines() {
      const at = now();
      let raised = 0;
      let failed: unknown;
      for (const tenantId of await tenantIds()) {
        try {
          raised += await checkTenant(tenantId, at);
        } catch (error) {
          // One tenant's trouble (its data set unreachable) does not hold up the others' deadlines.
          failed ??= error;
        }
      }
      if (failed !== undefined) throw failed;
      return raised;
    },

    start({ everyMs, firstAfterMs = 0, leadership }) {
      return periodic(async () => void (await service.checkDeadlines()), everyMs, firstAfterMs, leadership);
    },
  };
  return service;
}
