import { forbidden, hasCapability, IdentityError, type Principal, type Role } from '../identity/index.js';
import { buildAuditEvent, objectEntity, patientEntity, type Actor, type Audit, type AuditAction, type AuditEventInput, type EventFilter, type PurposeOfUse, type StoredEvent } from '../audit/index.js';
import type { Storage } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import type { Disclosed } from './bundles.js';
import { IntegrityFailure } from './errors.js';
import { checkSmartScope, createGuard, PolicyRefusal, type EmergencyGrant, type PolicyEffect, type RecordGuard, type SubjectPolicies } from './guard.js';
import type { Records, SearchResult, StoredResource, TenantData } from './records.js';

/**
 * Who reads, why, and from which request: what every audited access needs. The FHIR routes build
 * it from the request's pipeline, the pages from `guard.person` — both then read through this
 * module, so a page's read is permission-checked and audited exactly as the same read over FHIR.
 */
export interface AccessContext {
  readonly tenantId: string;
  readonly principal: Principal;
  readonly purpose: PurposeOfUse;
  readonly requestId: string;
  readonly sourceIp: string;
  /** A break-the-glass reason already checked by `breakGlassReason` (the API's header, the console's form). */
  readonly emergencyReason?: string;
  /**
   * How the person came, when the principal alone does not say: the app consent page audits its
   * patient search as `consent:<clientId>` (the person acts there for an app that has no token yet).
   * Without it the actor's client follows from the principal (`actorOf`).
   */
  readonly client?: string;
}

/** What an event needs of its request; the principal may be missing (no valid credential). */
export type EventContext = Pick<AccessContext, 'purpose' | 'requestId' | 'sourceIp' | 'client'> & { readonly principal: Principal | null };

/**
 * Why the data is accessed (HL7 v3 PurposeOfUse) when the caller does not say: clinicians and
 * readers treat (TREAT), administrators run the practice (HOPERAT), a patient reads their own (PATRQT).
 */
export const defaultPurpose: Readonly<Record<Role, PurposeOfUse>> = {
  'tenant-admin': 'HOPERAT',
  clinician: 'TREAT',
  'front-desk': 'HOPERAT',
  billing: 'HPAYMT',
  auditor: 'HOPERAT',
  patient: 'PATRQT',
  service: 'TREAT',
  'service-reader': 'TREAT',
};

/**
 * Break-the-glass: a role with `emergency:access` opens records outside its care with a stated
 * reason (10–500 printable characters), recorded as `access.emergency_granted` and listed for
 * review. The header of the API and the console's form both pass through this check.
 */
export function breakGlassReason(principal: Principal, value: string, field = 'The reason'): string {
  if (!hasCapability(principal.role, 'emergency:access')) throw new IdentityError('break-glass-invalid', `Your role (${principal.role}) cannot break the glass.`, { status: 403, expose: true });
  if (principal.smart !== undefined) throw new IdentityError('break-glass-invalid', "Break-the-glass is only for Tresor's own sign-in, not through a third-party app.", { status: 403, expose: true });
  const reason = value.normalize('NFC').trim();
  if (reason.length < 10 || reason.length > 500 || /\p{Cc}/u.test(reason)) {
    throw new IdentityError('break-glass-invalid', `${field} states why, in 10–500 printable characters.`, { status: 400, expose: true });
  }
  return reason;
}

/** The actor of an event: a session's account, an OAuth app's token, or an API key (by label). */
export const actorOf = (p: Principal | null): Actor => {
  if (p === null) return { id: 'anonymous', role: 'none', client: '' };
  // Every data access records the client app: an OAuth app's id, else the session or the API key's label.
  return p.kind === 'person' ? { id: `account:${p.id}`, role: p.role, client: p.client === undefined ? 'session' : `oauth:${p.client}` } : { id: p.id, role: p.role, client: p.label };
};

/** An audit event of this access: ids, patients and data classes only, never contents. */
export function accessEvent(ctx: EventContext, action: AuditAction, disclosed: readonly Disclosed[], status: number, failure?: AppError): AuditEventInput {
  return {
    action,
    outcome: failure === undefined ? 'success' : 'failure',
    status,
    actor: ctx.client === undefined || ctx.principal === null ? actorOf(ctx.principal) : { ...actorOf(ctx.principal), client: ctx.client },
    purpose: ctx.purpose,
    resources: disclosed.map((d) => d.ref),
    subjects: [...new Set(disclosed.map((d) => d.subject).filter((s) => s.startsWith('Patient/')))],
    classes: [...new Set(disclosed.flatMap((d) => d.classes))].sort(),
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    // A refusal by a patient's rules names its basis (the Consent by id, or the restriction), never its contents.
    detail: failure === undefined ? '' : failure instanceof PolicyRefusal ? `${failure.code} ${failure.basis}` : failure.code,
  };
}

/** What a patient's consent or restriction withheld or redacted: `access.denied` or `access.redacted`, the basis in detail. */
export function policyEvent(ctx: EventContext, effect: PolicyEffect): AuditEventInput {
  const withheld = effect.kind === 'withheld';
  return {
    ...accessEvent(ctx, withheld ? 'access.denied' : 'access.redacted', effect.refs.map((ref) => ({ ref, subject: '_tenant', classes: [] })), withheld ? 403 : 200),
    outcome: withheld ? 'failure' : 'success',
    subjects: effect.subjects.filter((s) => s.startsWith('Patient/')),
    classes: [...effect.classes],
    detail: withheld ? `${effect.basis === 'restriction' ? 'processing-restricted' : 'consent-denied'} ${effect.basis}` : effect.basis,
  };
}

/** A break-the-glass grant's own event: which records, whose, and the reason given (for review). */
export function emergencyEvent(ctx: EventContext, grant: EmergencyGrant): AuditEventInput {
  return {
    ...accessEvent(ctx, 'access.emergency_granted', grant.refs.map((ref) => ({ ref, subject: '_tenant', classes: [] })), 200),
    subjects: grant.subjects.filter((s) => s.startsWith('Patient/')),
    purpose: 'ETREAT',
    detail: grant.reason,
  };
}

/**
 * A refused or failed access by a caller of this tenant is an audit event too (a 403 is
 * `access.denied`; denied and failed accesses are what detection looks for). Returns the error to
 * answer with: the audit trail's own 503 if even this event could not be written (fail closed).
 * The FHIR and audit routes and the console pages all record their refusals here.
 */
export async function recordFailure(audit: Audit, ctx: EventContext & { readonly tenantId: string }, action: AuditAction, ref: string, error: AppError): Promise<AppError> {
  if (error.code === 'audit-unavailable' || ctx.principal === null || ctx.principal.tenantId !== ctx.tenantId) return error;
  if (error instanceof IntegrityFailure) {
    // Tampered or corrupted stored data is a security event of its own (OWASP ASVS 5 V16.3.3, NIST
    // SP 800-92 §2.1): the version that failed, whose key sealed it, no contents. The caller gets
    // the 500 whatever becomes of the event — recording it stays out of the failing request's way.
    const sealedBy = error.subject.startsWith('Patient/') ? error.subject : '_tenant';
    await audit.record(ctx.tenantId, [accessEvent(ctx, 'record.integrity_failed', [{ ref: error.resource, subject: sealedBy, classes: [] }], error.status, error)]).catch(() => undefined);
    return error;
  }
  try {
    await audit.record(ctx.tenantId, [accessEvent(ctx, error.status === 403 ? 'access.denied' : action, ref === '' ? [] : [{ ref, subject: '_tenant', classes: [] }], error.status, error)]);
    return error;
  } catch (auditError) {
    return auditError instanceof AppError ? auditError : new AppError('internal', 'Internal error.', { status: 500, cause: auditError });
  }
}

export const disclosedOf = (stored: { readonly type: string; readonly id: string; readonly versionId: number; readonly subject: string; readonly classes: readonly string[] }): Disclosed => ({
  ref: `${stored.type}/${stored.id}/_history/${stored.versionId}`,
  subject: stored.subject,
  classes: stored.classes as Disclosed['classes'],
});

/** Who an access-log entry names: the reader themself, a person by role and name, an app, or a system. */
export interface AccessWho {
  readonly kind: 'you' | 'person' | 'app' | 'system';
  readonly role: string;
  /** A person's name (their Practitioner record's, else their account's e-mail), an app's name, a key's label. */
  readonly name: string;
  /** The app a person acted through, by its name. */
  readonly via?: string;
}

/** One access to a patient's records as the patient sees it (no ids of other patients, no network addresses). */
export interface AccessEntry {
  readonly seq: number;
  readonly at: number;
  readonly action: AuditAction;
  readonly outcome: 'success' | 'failure';
  readonly who: AccessWho;
  /** The resource types touched, e.g. `Observation`. */
  readonly types: readonly string[];
  /** The patient's own resources (`Type/id/_history/v`), only when the event concerned no one else. */
  readonly refs: readonly string[];
  readonly purpose: PurposeOfUse;
  /** The stated reason of a break-the-glass access. */
  readonly reason?: string;
}

export interface AccessLog {
  readonly patient: string;
  readonly entries: readonly AccessEntry[];
  /** Raw events, for the auditor's unchanged FHIR AuditEvents. */
  readonly events: readonly StoredEvent[];
  /** The seq to page on (`_before`), when older entries exist. */
  readonly next: number | undefined;
}

/** What the access log needs from the account and app registers (wired in app.ts; keeps records free of identity's stores). */
export interface ActorDirectory {
  account(tenantId: string, id: string): Promise<{ readonly email: string; readonly practitioner?: string } | undefined>;
  appName(tenantId: string, clientId: string): Promise<string | undefined>;
}

/**
 * Reading records as a caller — the FHIR routes, the clinic console and the patient portal alike:
 * the matrix, the care relationship and break-the-glass, each access audited before it is answered.
 */
export interface RecordAccess {
  /** The permission matrix for this caller's records; a break-the-glass grant is audited before anything is disclosed. */
  guardOf(ctx: AccessContext): RecordGuard;
  /** Records the events of a read, durably, before it is answered (fail closed). */
  recorded(ctx: AccessContext, action: AuditAction, disclosed: readonly Disclosed[], status?: number): Promise<void>;
  /** A read as FHIR's `GET /{type}/{id}`: reached, redacted, audited as `record.read`. */
  read(ctx: AccessContext, type: string, id: string): Promise<StoredResource>;
  /**
   * A search as FHIR's `GET /{type}?…`: checked, scoped, disclosed, audited as `record.searched`.
   * The result's `matches` are the disclosed (redacted) ones; the undisclosed rows never leave here.
   */
  search(ctx: AccessContext, type: string, params: ReadonlyArray<readonly [string, string]>, options?: { readonly lenient?: boolean; readonly bases?: readonly string[] }): Promise<SearchResult>;
  /** A refusal or failure of the caller's access, audited as the API audits it (`recordFailure`); returns the error to show. */
  failed(ctx: EventContext & { readonly tenantId: string }, action: AuditAction, ref: string, error: AppError): Promise<AppError>;
  /**
   * "Who accessed my data": the events that concern one patient, newest first, for an auditor
   * (any patient) or the patient themself (their own Patient only; through an app, with a scope
   * to read their Patient). Reading it is an `audit.read` event of its own.
   */
  accessLog(ctx: AccessContext, patient: string, filter: EventFilter): Promise<AccessLog>;
}

export interface RecordAccessDeps {
  readonly records: Records;
  readonly storage: Storage;
  readonly audit: Audit;
  readonly directory: ActorDirectory;
  /** Patients' consents and restrictions (src/privacy); without it only the matrix decides. */
  readonly policies?: SubjectPolicies;
}

const typeOf = (ref: string): string => ref.split('/')[0] ?? '';

/** A Practitioner's name as people write it: `text`, else given names and family name. */
function practitionerName(content: string): string | undefined {
  const body = JSON.parse(content) as { name?: Array<{ text?: string; given?: string[]; family?: string; prefix?: string[] }> };
  const name = body.name?.[0];
  if (name === undefined) return undefined;
  if (typeof name.text === 'string' && name.text.trim() !== '') return name.text.trim();
  const parts = [...(name.prefix ?? []), ...(name.given ?? []), ...(name.family === undefined ? [] : [name.family])].filter((p) => typeof p === 'string' && p !== '');
  return parts.length === 0 ? undefined : parts.join(' ');
}

export function createRecordAccess({ records, storage, audit, directory, policies }: RecordAccessDeps): RecordAccess {
  const tenantData = async (ctx: AccessContext): Promise<TenantData> => ({ tenantId: ctx.tenantId, db: await storage.tenant(ctx.tenantId) });
  const recorded = async (ctx: AccessContext, action: AuditAction, disclosed: readonly Disclosed[], status = 200) => {
    await audit.record(ctx.tenantId, [accessEvent(ctx, action, disclosed, status)]);
  };

  const guardOf = (ctx: AccessContext): RecordGuard =>
    createGuard(records, ctx.principal, {
      ...(ctx.emergencyReason === undefined ? {} : { emergencyReason: ctx.emergencyReason }),
      onEmergency: (grant: EmergencyGrant) => audit.record(ctx.tenantId, [emergencyEvent(ctx, grant)]),
      purpose: ctx.purpose,
      ...(policies === undefined ? {} : { policies }),
      onPolicy: (effect: PolicyEffect) => audit.record(ctx.tenantId, [policyEvent(ctx, effect)]),
    });

  /**
   * Who may read a patient's access log: a role with `audit:read` over its own sign-in (apps are
   * not offered the audit trail), or the patient themself — their own Patient, and through an
   * app only with a scope to read that Patient and the app launched for them (SMART `patient/Patient.r`).
   */
  function mayReadLog(principal: Principal, patient: string): void {
    if (hasCapability(principal.role, 'audit:read')) {
      if (principal.smart !== undefined) throw forbidden('Third-party apps cannot read the audit trail.');
      return;
    }
    if (principal.role !== 'patient') throw forbidden(`Your role (${principal.role}) does not allow this (audit:read).`);
    if (principal.patient !== patient) throw new IdentityError('outside-compartment', 'This record is not in your own records.', { status: 403, expose: true });
    if (principal.smart !== undefined) {
      checkSmartScope(principal, 'Patient', 'read');
      if (principal.smart.patient !== undefined && principal.smart.patient !== patient) throw new IdentityError('outside-compartment', 'This record is not in your own records.', { status: 403, expose: true });
    }
  }

  /** Names for the actors of these events, each looked up once (accounts, their Practitioner, apps). */
  async function namesOf(ctx: AccessContext, events: readonly StoredEvent[]): Promise<Map<string, AccessWho>> {
    const names = new Map<string, AccessWho>();
    const apps = new Map<string, Promise<string>>();
    const appName = (clientId: string) => {
      let name = apps.get(clientId);
      if (name === undefined) {
        name = directory.appName(ctx.tenantId, clientId).then((n) => n ?? clientId);
        apps.set(clientId, name);
      }
      return name;
    };
    const self = actorOf(ctx.principal).id;
    const t = await tenantData(ctx);
    for (const event of events) {
      const key = `${event.actor.id}|${event.actor.client}|${event.actor.role}`;
      if (names.has(key)) continue;
      const { id, role, client } = event.actor;
      const via = client.startsWith('oauth:') ? await appName(client.slice(6)) : undefined;
      let who: AccessWho;
      if (id === self) {
        who = { kind: 'you', role, name: '', ...(via === undefined ? {} : { via }) };
      } else if (id.startsWith('account:')) {
        const account = await directory.account(ctx.tenantId, id.slice(8));
        let name = account?.email ?? '';
        if (account?.practitioner !== undefined) {
          // The staff member's own Practitioner record gives the name a patient knows them by.
          try {
            name = practitionerName((await records.read(t, 'Practitioner', account.practitioner.replace(/^Practitioner\//, ''))).content) ?? name;
          } catch {
            // A deleted Practitioner: the account's e-mail remains.
          }
        }
        who = { kind: 'person', role, name, ...(via === undefined ? {} : { via }) };
      } else if (id.startsWith('client:')) {
        who = { kind: 'app', role, name: via ?? (await appName(id.slice(7))) };
      } else {
        who = { kind: 'system', role, name: client };
      }
      names.set(key, who);
    }
    return names;
  }

  function entryOf(event: StoredEvent, patient: string, who: AccessWho): AccessEntry {
    const onlyThis = event.subjects.every((s) => s === patient);
    return {
      seq: event.seq,
      at: event.at,
      action: event.action,
      outcome: event.outcome,
      who,
      types: [...new Set(event.resources.map(typeOf).filter((type) => type !== ''))].sort(),
      refs: onlyThis ? event.resources : [],
      purpose: event.purpose,
      ...(event.action === 'access.emergency_granted' && event.detail !== '' ? { reason: event.detail } : {}),
    };
  }

  return {
    guardOf,
    recorded,
    failed: (ctx, action, ref, error) => recordFailure(audit, ctx, action, ref, error),
    async read(ctx, type, id) {
      const guard = guardOf(ctx);
      guard.allow(type, 'read');
      checkSmartScope(ctx.principal, type, 'read');
      const t = await tenantData(ctx);
      const stored = await guard.disclose(t, await records.read(t, type, id));
      await recorded(ctx, 'record.read', [disclosedOf(stored)]);
      return stored;
    },
    async search(ctx, type, params, options = {}) {
      const guard = guardOf(ctx);
      guard.allow(type, 'search');
      checkSmartScope(ctx.principal, type, 'search');
      guard.checkSearch(type, params);
      const t = await tenantData(ctx);
      const result = await records.search(t, type, params, options.lenient ?? false, guard.scopeOf(type), options.bases ?? []);
      const matches = await guard.discloseAll(t, result.matches.map((m) => ({ ...m, type })));
      await recorded(
        ctx,
        'record.searched',
        matches.map((m) => ({ ref: `${type}/${m.id}/_history/${m.versionId}`, subject: m.subject, classes: m.classes })),
      );
      // Rows a patient's consent or restriction withheld still count in `total` (they exist); the page says how many it left out.
      const withheld = result.matches.length - matches.length;
      return { ...result, matches, ...(withheld > 0 ? { withheld } : {}) };
    },
    async accessLog(ctx, patient, filter) {
      mayReadLog(ctx.principal, patient);
      // audit.query chains what is pending first (PostgreSQL), so an access a moment ago is listed.
      const events = await audit.query(ctx.tenantId, { ...filter, patient, count: filter.count + 1 });
      const page = events.slice(0, filter.count);
      await recorded(ctx, 'audit.read', [{ ref: patient, subject: patient, classes: [] }]);
      const names = await namesOf(ctx, page);
      const entries = page.map((event) => entryOf(event, patient, names.get(`${event.actor.id}|${event.actor.client}|${event.actor.role}`) as AccessWho));
      return { patient, entries, events: page, next: events.length > filter.count ? page.at(-1)?.seq : undefined };
    },
  };
}

/**
 * An access-log entry as the patient's FHIR AuditEvent (the auditor's BALP shape, `buildAuditEvent`):
 * the reader by role and name (`agent.who.display`, an app in `agent.name`), what was touched,
 * why, and a break-the-glass reason — no internal account ids, no network address, no request id,
 * and no resource ids when the access also concerned other patients.
 */
export function patientAuditEvent(entry: AccessEntry, patient: string): Record<string, unknown> {
  return buildAuditEvent({
    seq: entry.seq,
    at: entry.at,
    action: entry.action,
    outcome: entry.outcome,
    ...(entry.reason === undefined ? {} : { outcomeDesc: entry.reason }),
    purpose: entry.purpose,
    agent: { who: { display: entry.who.kind === 'you' ? 'you' : entry.who.name }, ...(entry.who.via === undefined ? {} : { name: entry.who.via }), role: entry.who.role },
    entity: [
      ...entry.refs.map((reference) => objectEntity({ reference })),
      ...(entry.refs.length === 0 ? entry.types.map((type) => objectEntity({ display: type })) : []),
      patientEntity(patient),
    ],
  });
}
