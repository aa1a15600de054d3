import { hasCapability, IdentityError, type Principal, type Role } from '../identity/index.js';
import type { Actor, Audit, AuditAction, AuditEventInput, PurposeOfUse } from '../audit/index.js';
import type { Storage } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import type { Disclosed } from './bundles.js';
import { createGuard, type EmergencyGrant, type Revealed, type RecordGuard } from './guard.js';
import type { Records, SearchResult, StoredResource, TenantData } from './records.js';

/**
 * Who reads records, and why: what the FHIR routes learn from a request, and what a console page
 * learns from its session — both go through the same guard and the same audit events here.
 */
export interface AccessContext {
  readonly tenantId: string;
  readonly principal: Principal;
  readonly purpose: PurposeOfUse;
  readonly requestId: string;
  readonly sourceIp: string;
  /** A checked break-the-glass reason (`breakGlassReason`), when the caller gave one. */
  readonly emergencyReason?: string;
}

/**
 * Why the data is accessed (HL7 v3 PurposeOfUse, header `X-Purpose-Of-Use`), recorded with every
 * audit event. Without the header each role has a default: clinicians and readers treat (TREAT),
 * administrators run the practice (HOPERAT).
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

/** What an event needs of its request; the principal may be missing (no valid credential). */
export type EventContext = Pick<AccessContext, 'purpose' | 'requestId' | 'sourceIp'> & { readonly principal: Principal | null };

/** An audit event of an access: ids, patients and data classes only, never contents. */
export function accessEvent(ctx: EventContext, action: AuditAction, disclosed: readonly Disclosed[], status: number, failure?: AppError): AuditEventInput {
  return {
    action,
    outcome: failure === undefined ? 'success' : 'failure',
    status,
    actor: actorOf(ctx.principal),
    purpose: ctx.purpose,
    resources: disclosed.map((d) => d.ref),
    subjects: [...new Set(disclosed.map((d) => d.subject).filter((s) => s.startsWith('Patient/')))],
    classes: [...new Set(disclosed.flatMap((d) => d.classes))].sort(),
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    detail: failure?.code ?? '',
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
 * The permission matrix for one caller's records (guard.ts). A break-the-glass grant is an
 * audit event of its own, durable before anything outside the normal scope is disclosed.
 */
export function guardFor(records: Records, audit: Audit, ctx: AccessContext): RecordGuard {
  return createGuard(records, ctx.principal, {
    ...(ctx.emergencyReason === undefined ? {} : { emergencyReason: ctx.emergencyReason }),
    onEmergency: (grant) => audit.record(ctx.tenantId, [emergencyEvent(ctx, grant)]),
  });
}

export const disclosedOf = (stored: StoredResource): Disclosed => ({ ref: `${stored.type}/${stored.id}/_history/${stored.versionId}`, subject: stored.subject, classes: stored.classes });

/** Reading records as a caller: the matrix, the care relationship and break-the-glass, each access audited. */
export interface RecordAccess {
  /** A FHIR search (the API's `GET /{type}`), within the caller's reach; audited as `record.searched`. */
  search(ctx: AccessContext, type: string, params: ReadonlyArray<readonly [string, string]>, options?: { lenient?: boolean; bases?: readonly string[] }): Promise<{ result: SearchResult; matches: Array<Revealed & { readonly versionId: number }> }>;
  /** A FHIR read (`GET /{type}/{id}`); audited as `record.read`. */
  read(ctx: AccessContext, type: string, id: string): Promise<StoredResource>;
  /**
   * A refusal or failure of the caller's access, audited as the API audits it (a 403 is
   * `access.denied`); returns the error to show (503 if even the event could not be written).
   */
  failed(ctx: EventContext & { readonly tenantId: string }, action: AuditAction, ref: string, error: AppError): Promise<AppError>;
}

export function createRecordAccess({ records, storage, audit }: { records: Records; storage: Storage; audit: Audit }): RecordAccess {
  const tenantData = async (tenantId: string): Promise<TenantData> => ({ tenantId, db: await storage.tenant(tenantId) });
  return {
    async search(ctx, type, params, options = {}) {
      const guard = guardFor(records, audit, ctx);
      guard.allow(type, 'search');
      guard.checkSearch(type, params);
      const t = await tenantData(ctx.tenantId);
      const result = await records.search(t, type, params, options.lenient ?? false, guard.scopeOf(type), options.bases);
      const matches = await guard.discloseAll(t, result.matches.map((m) => ({ ...m, type })));
      await audit.record(ctx.tenantId, [
        accessEvent(
          ctx,
          'record.searched',
          matches.map((m) => ({ ref: `${type}/${m.id}/_history/${m.versionId}`, subject: m.subject, classes: m.classes })),
          200,
        ),
      ]);
      return { result, matches };
    },
    async read(ctx, type, id) {
      const guard = guardFor(records, audit, ctx);
      guard.allow(type, 'read');
      const t = await tenantData(ctx.tenantId);
      const stored = await guard.disclose(t, await records.read(t, type, id));
      await audit.record(ctx.tenantId, [accessEvent(ctx, 'record.read', [disclosedOf(stored)], 200)]);
      return stored;
    },
    async failed(ctx, action, ref, error) {
      if (error.code === 'audit-unavailable' || ctx.principal === null || ctx.principal.tenantId !== ctx.tenantId) return error;
      try {
        await audit.record(ctx.tenantId, [accessEvent(ctx, error.status === 403 ? 'access.denied' : action, ref === '' ? [] : [{ ref, subject: '_tenant', classes: [] }], error.status, error)]);
        return error;
      } catch (auditError) {
        return auditError instanceof AppError ? auditError : error;
      }
    },
  };
}
