import type { Actor, AuditAction, AuditEventInput, AuditOutcome, PurposeOfUse } from '../audit/index.js';

/** Who acts on an erasure, a hold or retention: a person or key through the API or console, the CLI's operator, or the retention job. */
export interface PrivacyCaller {
  readonly actor: Actor;
  readonly requestId?: string;
  readonly sourceIp?: string;
}

/**
 * An audit event of erasure, holds or retention: ids and counts only. The purpose is the
 * clinic's operations (HL7 v3 HOPERAT), or the patient's request when one is named (PATRQT).
 */
export function privacyEvent(caller: PrivacyCaller, action: AuditAction, fields: { subjects?: readonly string[]; resources?: readonly string[]; detail?: string; outcome?: AuditOutcome; status?: number; purpose?: PurposeOfUse }): AuditEventInput {
  return {
    action,
    outcome: fields.outcome ?? 'success',
    status: fields.status ?? 0,
    actor: caller.actor,
    purpose: fields.purpose ?? (caller.actor.role === 'system' || caller.actor.id.startsWith('cli:') ? 'SYSADMIN' : 'HOPERAT'),
    resources: fields.resources ?? [],
    subjects: fields.subjects ?? [],
    classes: [],
    requestId: caller.requestId ?? '',
    sourceIp: caller.sourceIp ?? 'local',
    detail: fields.detail ?? '',
  };
}
