import type { FastifyRequest } from 'fastify';
import { defaultPurpose, type AccessContext } from '../records/index.js';
import type { StaffCaller } from './page-guard.js';

/**
 * A page's caller as the record access service sees it: like an API request of the same session,
 * with the purpose the API gives the role by default (ETREAT once the glass is broken).
 */
export function pageAccessContext(request: FastifyRequest, caller: StaffCaller, emergencyReason?: string): AccessContext {
  return {
    tenantId: caller.me.realmId,
    principal: caller.principal,
    purpose: emergencyReason === undefined ? defaultPurpose[caller.principal.role] : 'ETREAT',
    requestId: request.id,
    sourceIp: request.ip,
    ...(emergencyReason === undefined ? {} : { emergencyReason }),
  };
}
