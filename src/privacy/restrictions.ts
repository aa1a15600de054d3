import type { Actor, Audit, AuditEventInput, PurposeOfUse } from '../audit/index.js';
import { roles, type Role } from '../identity/index.js';
import type { Storage } from '../platform/db/index.js';
import type { Clock } from '../platform/clock.js';
import { PrivacyError } from './restriction-errors.js';
import { deleteRestriction, selectRestriction, selectRestrictions, upsertRestriction, type RestrictionRow } from './restriction-store.js';

/**
 * The grounds of GDPR Art. 18(1): (a) the accuracy is contested, (b) the processing is unlawful
 * and the subject asks for restriction instead of erasure, (c) the controller no longer needs the
 * data but the subject needs it for legal claims, (d) an objection (Art. 21(1)) is being weighed.
 */
export const restrictionGrounds = ['accuracy-contested', 'unlawful-processing', 'legal-claims', 'objection-pending'] as const;
export type RestrictionGround = (typeof restrictionGrounds)[number];

const defaults = {
  /** Art. 18(2): with consent, for legal claims or another's rights; the tenant admin decides. No record-reading role unless named. */
  allowedRoles: ['tenant-admin'] as readonly Role[],
  /** The console's list: a tenant restricts few patients; beyond this it is a page of the most recent. */
  listLimit: 500,
};

export interface Restriction {
  readonly patient: string;
  readonly ground: RestrictionGround;
  readonly allowedRoles: readonly Role[];
  /** The actor id who set it. */
  readonly by: string;
  readonly requestId?: string;
  readonly at: number;
}

/** Who acts, for the audit event. */
export interface RestrictionCaller {
  readonly actor: Actor;
  readonly purpose: PurposeOfUse;
  readonly requestId: string;
  readonly sourceIp: string;
}

export interface Restrictions {
  restrict(tenantId: string, patient: string, input: { readonly by: RestrictionCaller; readonly ground: string; readonly allowedRoles?: readonly string[]; readonly requestId?: string }): Promise<Restriction>;
  /** Whether there was a restriction to lift. */
  lift(tenantId: string, patient: string, input: { readonly by: RestrictionCaller; readonly requestId?: string }): Promise<boolean>;
  get(tenantId: string, patient: string): Promise<Restriction | undefined>;
  /** The tenant's restricted patients, the most recently restricted first. */
  list(tenantId: string): Promise<Restriction[]>;
}

export interface RestrictionsDeps {
  readonly storage: Storage;
  readonly audit: Audit;
  readonly clock: Clock;
}

const patientPattern = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const requestIdPattern = /^[A-Za-z0-9\-._:]{1,100}$/;
const invalid = (message: string) => new PrivacyError('restriction-invalid', message, { status: 400, expose: true });

const restrictionOf = (row: RestrictionRow): Restriction => ({
  patient: row.patient,
  ground: row.ground as RestrictionGround,
  allowedRoles: row.allowed_roles === '' ? [] : (row.allowed_roles.split(',') as Role[]),
  by: row.restricted_by,
  ...(row.request_id === null ? {} : { requestId: row.request_id }),
  at: Number(row.restricted_at),
});

function event(by: RestrictionCaller, action: 'privacy.restricted' | 'privacy.restriction_lifted', patient: string, detail: string): AuditEventInput {
  return { action, outcome: 'success', status: 200, actor: by.actor, purpose: by.purpose, resources: [patient], subjects: [patient], classes: [], requestId: by.requestId, sourceIp: by.sourceIp, detail };
}

/**
 * Restriction of processing (GDPR Art. 18): the patient's data is kept but not processed — the
 * record guard refuses it to every role but the allowed ones (and the patient reading their own),
 * and labels whatever it still discloses. Setting and lifting are audited with the change.
 */
export function createRestrictions({ storage, audit, clock }: RestrictionsDeps): Restrictions {
  const checkPatient = (patient: string) => {
    if (!patientPattern.test(patient)) throw invalid('The patient is Patient/<id>.');
  };
  return {
    async restrict(tenantId, patient, input) {
      checkPatient(patient);
      if (!(restrictionGrounds as readonly string[]).includes(input.ground)) throw invalid(`ground: one of ${restrictionGrounds.join(', ')} (GDPR Art. 18(1)(a)–(d)).`);
      const allowed = [...new Set(input.allowedRoles ?? defaults.allowedRoles)];
      const unknown = allowed.filter((r) => !(roles as readonly string[]).includes(r) || r === 'patient');
      if (unknown.length > 0) throw invalid(`allowedRoles: roles of this tenant other than patient (${roles.filter((r) => r !== 'patient').join(', ')}), not ${unknown.join(', ')}.`);
      if (input.requestId !== undefined && !requestIdPattern.test(input.requestId)) throw invalid('requestId: the id of the data subject request (1–100 of A–Z, a–z, 0–9, - . _ :).');
      const restriction: Restriction = {
        patient,
        ground: input.ground as RestrictionGround,
        allowedRoles: allowed as Role[],
        by: input.by.actor.id,
        ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
        at: clock.now().getTime(),
      };
      const db = await storage.tenant(tenantId);
      // The restriction and its audit event commit together.
      await db.transaction(async (tx) => {
        await upsertRestriction(tx, { patient, ground: restriction.ground, allowed_roles: allowed.join(','), restricted_by: restriction.by, request_id: input.requestId ?? null, restricted_at: restriction.at });
        await audit.appendIn(tx, tenantId, [event(input.by, 'privacy.restricted', patient, `${restriction.ground}; allowed: ${allowed.join(',') || 'none'}${input.requestId === undefined ? '' : `; request ${input.requestId}`}`)]);
      });
      return restriction;
    },
    async lift(tenantId, patient, input) {
      checkPatient(patient);
      const db = await storage.tenant(tenantId);
      return db.transaction(async (tx) => {
        const lifted = (await deleteRestriction(tx, patient)) > 0;
        if (lifted) await audit.appendIn(tx, tenantId, [event(input.by, 'privacy.restriction_lifted', patient, input.requestId === undefined ? '' : `request ${input.requestId}`)]);
        return lifted;
      });
    },
    async get(tenantId, patient) {
      checkPatient(patient);
      const row = await selectRestriction(await storage.tenant(tenantId), patient);
      return row === undefined ? undefined : restrictionOf(row);
    },
    async list(tenantId) {
      return (await selectRestrictions(await storage.tenant(tenantId), defaults.listLimit)).map(restrictionOf);
    },
  };
}
