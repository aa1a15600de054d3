import type { AuditAction, AuditEventInput } from '../audit/index.js';
import type { IncidentCaller } from './incidents.js';

/** An audit event of an incident route, by its caller: an operator's acts are system administration, a clinic's its operations. */
export function callerEvent(caller: IncidentCaller, action: AuditAction, resources: readonly string[], outcome: 'success' | 'failure', status: number, detail: string): AuditEventInput {
  return {
    action,
    outcome,
    status,
    actor: caller.actor,
    purpose: caller.kind === 'operator' ? 'SYSADMIN' : 'HOPERAT',
    resources,
    subjects: [],
    classes: [],
    requestId: caller.requestId,
    sourceIp: caller.sourceIp,
    detail,
  };
}
