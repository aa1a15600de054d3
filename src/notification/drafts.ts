import { createHash } from 'node:crypto';
import type { Audit, AuditAction, AuditEventInput } from '../audit/index.js';
import type { Scope } from '../breach/index.js';
import type { Alerts } from '../detection/index.js';
import { forbidden, type Accounts, type Message, type Notifier } from '../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../incidents/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { Tenants } from '../tenants/index.js';
import { deliver, type Planned, type SendTally } from './delivery.js';
import { composeAuthorityReport, composeCustomerNotice, composeLetter, composeMediaNotice, noticeKinds, tenantFacts, type NoticeDocument, type NoticeKind, type TenantFacts } from './drafts-compose.js';
import { insertDraft, selectDeliveries, selectDraft, selectDrafts, updateDraft, type DeliveryRow, type DraftRow } from './drafts-store.js';
import { defaultFreeText, freeTextFields, unfinishedFields, type FreeText } from './drafts-texts.js';
import { NotificationError, noticeInvalid, noticeNotFound } from './errors.js';
import { renderPdf } from './pdf.js';
import { noticeLanguages, type AffectedPeople, type AffectedPerson, type NoticeLanguage } from './people.js';
import { renderHtml, renderText } from './render.js';

const defaults = {
  /** Four eyes: whoever approves a draft is not who last edited (or generated) it. */
  fourEyes: true,
  /** A patient whose record names neither German nor English gets the letter in this language. */
  fallbackLanguage: 'de' as NoticeLanguage,
  /** Longest free-text part, in characters. */
  maxFreeText: 8000,
} as const;

export const noticeFormats = ['text', 'html', 'pdf'] as const;
export type NoticeFormat = (typeof noticeFormats)[number];

export interface GenerateInput {
  readonly scopeId: string;
  /** Default: letters, the customer notice and the authority report. The media notice when asked: whether HIPAA 164.406 requires one is the assessment's call. */
  readonly kinds?: readonly NoticeKind[];
}

export interface RenderInput {
  readonly format: NoticeFormat;
  /** Letters: one person's letter (`Patient/<id>`). */
  readonly recipient?: string;
  /** Letters: `post` — the print batch, the letters of those with a postal address and no e-mail. */
  readonly batch?: 'post';
  /** Reports and notices: one language; default both, German first. */
  readonly language?: NoticeLanguage;
}

export interface Rendered {
  readonly contentType: string;
  readonly filename: string;
  readonly body: string | Uint8Array;
  /** How many notices it holds (letters: people). */
  readonly count: number;
}

/** A delivery row as shown: `sent` once the mail relay took a queued mail. */
export type DeliveryView = Omit<DeliveryRow, 'status'> & { readonly status: DeliveryRow['status'] | 'sent' };

export interface NoticeDrafts {
  /** Operators: drafts from a frozen scope of the incident, per affected tenant. */
  generate(caller: IncidentCaller, incidentId: string, input: GenerateInput): Promise<DraftRow[]>;
  /** Operators: all drafts; a tenant admin: their tenant's customer notice, authority report and media notice. */
  list(caller: IncidentCaller, incidentId: string): Promise<DraftRow[]>;
  get(caller: IncidentCaller, incidentId: string, draftId: string): Promise<DraftRow>;
  /** Operators: the free text; an approved draft returns to `draft`; a sent one is final. */
  edit(caller: IncidentCaller, incidentId: string, draftId: string, changes: Partial<Record<NoticeLanguage, Partial<FreeText>>>): Promise<DraftRow>;
  approve(caller: IncidentCaller, incidentId: string, draftId: string): Promise<DraftRow>;
  /** Operators, an approved draft: letters and the customer notice are mailed (resumable); reports are recorded as filed by the caller. */
  send(caller: IncidentCaller, incidentId: string, draftId: string): Promise<{ readonly draft: DraftRow; readonly tally: SendTally }>;
  deliveries(caller: IncidentCaller, incidentId: string, draftId: string): Promise<DeliveryView[]>;
  /** Reports and notices as documents, for a page's preview (letters are previewed by download: each opens a patient's record). */
  preview(caller: IncidentCaller, incidentId: string, draftId: string, language: NoticeLanguage): Promise<NoticeDocument[]>;
  /** The notice as text, HTML or PDF; audited as a download. */
  render(caller: IncidentCaller, incidentId: string, draftId: string, input: RenderInput): Promise<Rendered>;
}

export interface NoticeDraftsDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly operatorRealm: string;
  readonly incidents: Pick<Incidents, 'get'>;
  readonly scopes: Pick<FrozenScopes, 'get'>;
  readonly people: AffectedPeople;
  readonly tenants: Pick<Tenants, 'get'>;
  readonly accounts: Pick<Accounts, 'list'>;
  readonly alerts: Pick<Alerts, 'settings'>;
  readonly notifier: Notifier;
  readonly fourEyes?: boolean;
  readonly fallbackLanguage?: NoticeLanguage;
  /** The deployment's security contact (security.txt's first), when a tenant has none of its own: pre-filled as the notices' contact. */
  readonly defaultContact?: string | undefined;
  /** With a mail relay: the tenant's messages still waiting for it; a queued notice no longer there was taken (`sent`). */
  readonly waitingMail?: (tenantId: string) => Promise<readonly Message[]>;
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const operatorsOnly = () => forbidden('Only the platform operators generate, edit, approve and send breach notices.');
const tenantKinds: readonly NoticeKind[] = ['customer', 'authority', 'media'];
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
const conflict = (message: string) => new NotificationError('notice-state-conflict', message, { status: 409, expose: true });

/** A letter's reference when it is not mailed (preview, print): stable, and tells nothing of the patient. */
const letterRef = (draftId: string, patient: string) => `${draftId.slice(0, 8)}-${createHash('sha256').update(`${draftId}|${patient}`).digest('hex').slice(0, 10)}`;

/**
 * Drafts of breach notices from a scope frozen into an incident: letters to the affected people
 * (GDPR Art. 34; HIPAA 45 CFR 164.404), the notice to each affected tenant (GDPR Art. 33(2);
 * HIPAA 164.410), the report to the authority (GDPR Art. 33(3); HIPAA 164.408) and the media
 * notice (164.406). A draft holds the operator's free text; the facts come from the frozen scope
 * and the people's contact details from their records, each time — nothing about a patient is
 * copied here. Nothing goes out before a person approved it; with four eyes, a second person.
 */
export function createNoticeDrafts(deps: NoticeDraftsDeps): NoticeDrafts {
  const { storage, clock, audit, operatorRealm } = deps;
  const fourEyes = deps.fourEyes ?? defaults.fourEyes;
  const fallback = deps.fallbackLanguage ?? defaults.fallbackLanguage;
  const db = storage.platform;
  const now = () => clock.now().getTime();
  const sending = new Set<string>();

  async function record(caller: IncidentCaller, draft: Pick<DraftRow, 'id' | 'incidentId' | 'tenantId'>, action: AuditAction, detail: string, subjects: readonly string[] = []): Promise<void> {
    const event: AuditEventInput = {
      action,
      outcome: 'success',
      status: caller.status,
      actor: caller.actor,
      // A letter's download opens a patient's contact details to notify them: a legal duty (HL7 HLEGAL).
      purpose: subjects.length > 0 ? 'HLEGAL' : caller.kind === 'operator' ? 'SYSADMIN' : 'HOPERAT',
      resources: [`Incident/${draft.incidentId}`],
      subjects,
      classes: subjects.length > 0 ? ['personal'] : [],
      requestId: caller.requestId,
      sourceIp: caller.sourceIp,
      detail: `notice ${draft.id} ${detail}`.slice(0, 2000),
    };
    // The operators' trail and the tenant's: a clinic sees who drafted, approved and sent what about its patients.
    const realms = caller.kind === 'operator' ? [operatorRealm, draft.tenantId] : [draft.tenantId];
    for (const realm of new Set(realms)) await audit.record(realm, [event]);
  }

  const visible = (caller: IncidentCaller, draft: DraftRow) => caller.kind === 'operator' || (draft.tenantId === caller.tenant && tenantKinds.includes(draft.kind));

  async function load(caller: IncidentCaller, incidentId: string, draftId: string): Promise<DraftRow> {
    await deps.incidents.get(caller, incidentId); // the incident's own door: a tenant not named is a 404
    if (!idPattern.test(draftId)) throw noticeNotFound();
    const draft = await selectDraft(db, incidentId, draftId);
    if (draft === undefined || !visible(caller, draft)) throw noticeNotFound();
    return draft;
  }

  /** The frozen scope, read with the operators' rights: the caller's own were checked on the draft. */
  async function scopeOf(caller: IncidentCaller, draft: Pick<DraftRow, 'incidentId' | 'scopeId'>): Promise<Scope> {
    const reader: IncidentCaller = caller.kind === 'operator' ? caller : { ...caller, kind: 'operator' };
    return JSON.parse(await deps.scopes.get(reader, draft.incidentId, draft.scopeId)) as Scope;
  }

  async function factsOf(caller: IncidentCaller, draft: DraftRow): Promise<{ scope: Scope; facts: TenantFacts }> {
    const [scope, detail, tenant] = await Promise.all([scopeOf(caller, draft), deps.incidents.get(caller, draft.incidentId), deps.tenants.get(draft.tenantId)]);
    const facts = tenantFacts(scope, { id: draft.tenantId, name: tenant?.name ?? draft.tenantId }, { id: detail.incident.id, title: detail.incident.title, awareAt: detail.incident.awareAt });
    if (facts === undefined) throw noticeNotFound();
    return { scope, facts };
  }

  const by = (caller: IncidentCaller) => ({ actor: caller.actor, sourceIp: caller.sourceIp, requestId: caller.requestId });

  /** The people of a letter draft (or one of them), read again from their records. */
  async function peopleOf(caller: IncidentCaller, scope: Scope, tenantId: string, only?: string): Promise<AffectedPerson[]> {
    if (only === undefined) return deps.people.resolve(scope, tenantId, by(caller), fallback);
    const part = scope.tenants.find((t) => t.tenantId === tenantId);
    const access = part?.patients.list.find((p) => p.patient === only);
    if (part === undefined || access === undefined) throw noticeInvalid('recipient: not a person affected in this tenant');
    // Only this person's record is opened (and audited as opened).
    const narrow: Scope = { ...scope, tenants: [{ ...part, patients: { count: 1, truncated: false, list: [access] } }] };
    return deps.people.resolve(narrow, tenantId, by(caller), fallback);
  }

  function documentsOf(draft: DraftRow, facts: TenantFacts, languages: readonly NoticeLanguage[]): NoticeDocument[] {
    return languages.map((language) => {
      const free = draft.freeText[language];
      switch (draft.kind) {
        case 'customer':
          return composeCustomerNotice(language, facts, free);
        case 'authority':
          return composeAuthorityReport(language, facts, free);
        case 'media':
          return composeMediaNotice(language, facts, free);
        case 'individual':
          throw new TypeError('letters are composed per person');
      }
    });
  }

  function checkFreeText(changes: unknown): Partial<Record<NoticeLanguage, Partial<FreeText>>> {
    if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) throw noticeInvalid('Send { "de": { … }, "en": { … } } with the parts to change.');
    const out: Partial<Record<NoticeLanguage, Partial<FreeText>>> = {};
    for (const [language, parts] of Object.entries(changes as Record<string, unknown>)) {
      if (!(noticeLanguages as readonly string[]).includes(language)) throw noticeInvalid(`${language}: one of ${noticeLanguages.join(', ')}`);
      if (parts === null || typeof parts !== 'object' || Array.isArray(parts)) throw noticeInvalid(`${language}: an object of ${freeTextFields.join(', ')}`);
      const checked: Partial<Record<keyof FreeText, string>> = {};
      for (const [field, value] of Object.entries(parts as Record<string, unknown>)) {
        if (!(freeTextFields as readonly string[]).includes(field)) throw noticeInvalid(`${language}.${field}: not an editable part (${freeTextFields.join(', ')})`);
        if (typeof value !== 'string' || value.trim() === '' || value.length > defaults.maxFreeText) throw noticeInvalid(`${language}.${field}: text of 1 to ${defaults.maxFreeText} characters`);
        // Line breaks are paragraphs; other control characters have no place in a letter.
        if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(value.replace(/\r\n/g, '\n'))) throw noticeInvalid(`${language}.${field}: no control characters`);
        checked[field as keyof FreeText] = value.replace(/\r\n/g, '\n').trim();
      }
      out[language as NoticeLanguage] = checked;
    }
    return out;
  }

  async function write(next: DraftRow, version: number): Promise<DraftRow> {
    if (!(await updateDraft(db, next, version))) throw conflict('The draft changed meanwhile; read it again.');
    return next;
  }

  async function plan(caller: IncidentCaller, draft: DraftRow): Promise<Planned[]> {
    const { scope, facts } = await factsOf(caller, draft);
    if (draft.kind === 'individual') {
      const people = await peopleOf(caller, scope, draft.tenantId);
      return people.map((person): Planned => {
        if (person.unreachable !== null) return { recipient: person.patient, channel: 'unreachable', code: person.unreachable };
        const email = person.email;
        if (email !== null) {
          return {
            recipient: person.patient,
            channel: 'email',
            message: (messageId) => {
              const doc = composeLetter(person, facts, draft.freeText[person.language], messageId);
              // Kind `incident`: no token in it; the outbox keeps it sealed until the relay takes it.
              return { kind: 'incident', tenantId: draft.tenantId, accountId: person.patient, to: email, subject: oneLine(doc.subject), text: renderText(doc), html: renderHtml([doc]) };
            },
          };
        }
        return person.postal === null ? { recipient: person.patient, channel: 'unreachable', code: 'no-address' } : { recipient: person.patient, channel: 'post', code: null };
      });
    }
    if (draft.kind === 'customer') {
      const admins = (await deps.accounts.list(draft.tenantId)).filter((a) => a.role === 'tenant-admin' && a.status === 'active');
      const contact = (await deps.alerts.settings(draft.tenantId)).securityContact;
      const recipients = [...admins.map((a) => ({ id: a.id, email: a.email })), ...(contact === undefined ? [] : [{ id: 'security-contact', email: contact }])];
      const docs = documentsOf(draft, facts, ['de', 'en']);
      return recipients.map((to): Planned => ({
        recipient: to.id,
        channel: 'email',
        message: (messageId) => ({
          kind: 'incident',
          tenantId: draft.tenantId,
          accountId: to.id,
          to: to.email,
          subject: oneLine(docs[0]?.subject ?? ''),
          text: `${docs.map(renderText).join('\n\n----\n\n')}\nMitteilung / Notice: ${messageId}\n`,
          html: renderHtml(docs),
        }),
      }));
    }
    // The authority report and the media notice are filed by a person (a portal, a press office): recorded, not mailed.
    return [{ recipient: 'filed', channel: 'filed', code: null }];
  }

  return {
    async generate(caller, incidentId, input) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const detail = await deps.incidents.get(caller, incidentId);
      const kinds = input.kinds ?? ['individual', 'customer', 'authority'];
      if (kinds.length === 0 || kinds.some((kind) => !(noticeKinds as readonly string[]).includes(kind))) throw noticeInvalid(`kinds: one or more of ${noticeKinds.join(', ')}`);
      if (typeof input.scopeId !== 'string' || !/^[0-9a-f-]{36}$/.test(input.scopeId)) throw noticeInvalid('scopeId: the id of a scope frozen into this incident');
      const scope = await scopeOf(caller, { incidentId, scopeId: input.scopeId });
      const at = now();
      const created: DraftRow[] = [];
      // A tenant where something was disclosed: its patients, and the tenant as controller, are told.
      for (const part of scope.tenants.filter((t) => t.patients.count > 0 || t.records.count > 0)) {
        const contact = (await deps.alerts.settings(part.tenantId)).securityContact ?? deps.defaultContact;
        const freeText = { de: defaultFreeText('de', detail.incident.title, contact), en: defaultFreeText('en', detail.incident.title, contact) };
        for (const kind of [...new Set(kinds)]) {
          if (kind === 'individual' && part.patients.count === 0) continue;
          const draft: DraftRow = { id: timeOrderedId(at), incidentId, kind, tenantId: part.tenantId, scopeId: input.scopeId, scopeHash: scope.hash, state: 'draft', freeText, version: 1, createdAt: at, createdBy: caller.actor.id, editedAt: at, editedBy: caller.actor.id, approvedAt: null, approvedBy: null, sentAt: null, sentBy: null };
          await insertDraft(db, draft);
          await record(caller, draft, 'notice.drafted', `${kind} tenant=${part.tenantId} patients=${part.patients.count} scope=${scope.hash.slice(0, 12)}`);
          created.push(draft);
        }
      }
      return created;
    },

    async list(caller, incidentId) {
      await deps.incidents.get(caller, incidentId);
      return (await selectDrafts(db, incidentId)).filter((d) => visible(caller, d));
    },

    async get(caller, incidentId, draftId) {
      return load(caller, incidentId, draftId);
    },

    async edit(caller, incidentId, draftId, changes) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const checked = checkFreeText(changes);
      const fields = Object.entries(checked).flatMap(([language, parts]) => Object.keys(parts ?? {}).map((field) => `${language}.${field}`));
      if (fields.length === 0) throw noticeInvalid(`Nothing to change: give one or more of ${freeTextFields.join(', ')} under de or en.`);
      const draft = await load(caller, incidentId, draftId);
      if (draft.state === 'sent') throw conflict('A sent notice is final; generate a new draft for a correction.');
      const freeText = { de: { ...draft.freeText.de, ...checked.de }, en: { ...draft.freeText.en, ...checked.en } };
      const at = now();
      const next = await write({ ...draft, freeText, state: 'draft', version: draft.version + 1, editedAt: at, editedBy: caller.actor.id, approvedAt: null, approvedBy: null }, draft.version);
      await record(caller, next, 'notice.edited', `${draft.kind} version=${next.version} ${fields.join(',')}${draft.state === 'approved' ? ' (approval withdrawn)' : ''}`);
      return next;
    },

    async approve(caller, incidentId, draftId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const draft = await load(caller, incidentId, draftId);
      if (draft.state !== 'draft') throw conflict(`The draft is ${draft.state} already.`);
      if (fourEyes && draft.editedBy === caller.actor.id) throw new NotificationError('notice-four-eyes', 'Four eyes: someone other than its last editor approves a notice.', { status: 403, expose: true });
      // A notice still asking its writer to "describe what happened" must never reach a patient.
      const unfinished = unfinishedFields(draft.freeText);
      if (unfinished.length > 0) throw new NotificationError('notice-unfinished', `Write the free text first: ${unfinished.join(', ')} still hold the draft's reminders in square brackets.`, { status: 409, expose: true });
      const at = now();
      const next = await write({ ...draft, state: 'approved', version: draft.version + 1, approvedAt: at, approvedBy: caller.actor.id }, draft.version);
      await record(caller, next, 'notice.approved', `${draft.kind} version=${draft.version}`);
      return next;
    },

    async send(caller, incidentId, draftId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const draft = await load(caller, incidentId, draftId);
      // Sent already: sending again resumes — only those not yet done are tried.
      if (draft.state === 'draft') throw new NotificationError('notice-not-approved', 'Not approved: a person approves a notice before it is sent.', { status: 409, expose: true });
      // One send of a draft at a time in this process: two at once would both find a recipient not yet logged.
      if (sending.has(draft.id)) throw conflict('A send of this draft is under way.');
      sending.add(draft.id);
      let tally: SendTally;
      try {
        tally = await deliver(db, draft.id, await plan(caller, draft), deps.notifier, now);
      } finally {
        sending.delete(draft.id);
      }
      const next = draft.state === 'sent' ? draft : await write({ ...draft, state: 'sent', version: draft.version + 1, sentAt: now(), sentBy: caller.actor.id }, draft.version);
      await record(caller, next, 'notice.sent', `${draft.kind} email=${tally.email} failed=${tally.failed} post=${tally.post} unreachable=${tally.unreachable} filed=${tally.filed} skipped=${tally.skipped}`);
      return { draft: next, tally };
    },

    async deliveries(caller, incidentId, draftId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const draft = await load(caller, incidentId, draftId);
      const rows = await selectDeliveries(db, draft.id);
      if (deps.waitingMail === undefined || !rows.some((r) => r.status === 'queued')) return rows;
      const waiting = await deps.waitingMail(draft.tenantId).catch(() => undefined);
      if (waiting === undefined) return rows;
      return rows.map((r) => (r.status === 'queued' && r.messageId !== null && !waiting.some((m) => m.accountId === r.recipient && m.text.includes(r.messageId as string)) ? { ...r, status: 'sent' } : r));
    },

    async preview(caller, incidentId, draftId, language) {
      const draft = await load(caller, incidentId, draftId);
      if (draft.kind === 'individual') return [];
      return documentsOf(draft, (await factsOf(caller, draft)).facts, [language]);
    },

    async render(caller, incidentId, draftId, input) {
      const draft = await load(caller, incidentId, draftId);
      if (!(noticeFormats as readonly string[]).includes(input.format)) throw noticeInvalid(`format: one of ${noticeFormats.join(', ')}`);
      const { scope, facts } = await factsOf(caller, draft);
      let docs: NoticeDocument[];
      let subjects: string[] = [];
      let what: string;
      if (draft.kind === 'individual') {
        if (caller.kind !== 'operator') throw operatorsOnly();
        if (input.recipient !== undefined && !/^Patient\/[A-Za-z0-9.-]{1,64}$/.test(input.recipient)) throw noticeInvalid('recipient: Patient/<id>');
        const people = (await peopleOf(caller, scope, draft.tenantId, input.recipient)).filter((p) => p.unreachable === null && (input.batch !== 'post' || (p.email === null && p.postal !== null)));
        if (input.recipient !== undefined && people.length === 0) throw noticeInvalid('recipient: erased or deleted — no letter can be addressed');
        docs = people.map((p) => composeLetter(p, facts, draft.freeText[p.language], letterRef(draft.id, p.patient)));
        subjects = input.recipient === undefined ? [] : [input.recipient];
        what = input.recipient === undefined ? `letters=${docs.length}${input.batch === 'post' ? ' batch=post' : ''}` : 'letter';
      } else {
        docs = documentsOf(draft, facts, input.language === undefined ? ['de', 'en'] : [input.language]);
        what = draft.kind;
      }
      const name = `${draft.kind}-${draft.tenantId}-${draft.id.slice(0, 8)}${input.batch === 'post' ? '-post' : ''}`;
      let rendered: Rendered;
      if (input.format === 'pdf') rendered = { contentType: 'application/pdf', filename: `${name}.pdf`, body: await renderPdf(docs), count: docs.length };
      else if (input.format === 'html') rendered = { contentType: 'text/html; charset=utf-8', filename: `${name}.html`, body: renderHtml(docs), count: docs.length };
      else rendered = { contentType: 'text/plain; charset=utf-8', filename: `${name}.txt`, body: docs.map(renderText).join('\n\f\n'), count: docs.length };
      await record(caller, draft, 'notice.downloaded', `${what} format=${input.format}`, subjects);
      return rendered;
    },
  };
}
