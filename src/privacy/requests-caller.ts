import type { Principal } from '../identity/index.js';
import { actorOf } from '../records/index.js';
import type { RequestCaller } from './requests-types.js';

/** A request's caller from the API's or a page's principal: the same actor the audit trail names everywhere. */
export function requestCallerOf(principal: Principal, requestId: string, sourceIp: string): RequestCaller {
  return {
    actor: actorOf(principal),
    role: principal.role,
    ...(principal.kind === 'person' ? { accountId: principal.id } : {}),
    ...(principal.role === 'patient' && principal.patient !== undefined ? { patient: principal.patient } : {}),
    requestId,
    sourceIp,
  };
}
