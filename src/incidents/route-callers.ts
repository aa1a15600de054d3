import type { FastifyRequest } from 'fastify';
import type { Audit, AuditAction } from '../audit/index.js';
import { forbidden, hasCapability, operatorRealm, type Authenticator, type Capability } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { actorOf } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import { callerEvent } from './caller-event.js';
import type { IncidentCaller } from './incidents.js';

/**
 * Who calls an incident's API (its scopes, its notification checklist, its notices) and how a
 * refusal is recorded, in one place: a platform operator (role `operator`, two factors) under
 * `/platform`, a tenant's principal with a capability under `/tenants/{t}`.
 */
export interface RouteCallers {
  /** The caller's own trail: the operators' or the tenant's. */
  home(caller: IncidentCaller): string;
  /** `[Incident/<id>]` for the request's `:id` when it is an id, else nothing. */
  incidentRef(request: FastifyRequest): string[];
  operator(request: FastifyRequest): Promise<IncidentCaller>;
  /** A refusal for want of `need` is recorded as `access.denied` in the tenant's trail. */
  tenant(request: FastifyRequest, need: Capability): Promise<IncidentCaller>;
  /**
   * Runs `work`; a refusal (4xx) is recorded in the caller's trail — as `access.denied` when it
   * is a 403, else as `action` failed — and passed on (OWASP ASVS 5 V16.3.2).
   */
  attempt<T>(caller: IncidentCaller, action: AuditAction, request: FastifyRequest, work: () => Promise<T>): Promise<T>;
  recordRead(caller: IncidentCaller, resources: readonly string[], detail: string): Promise<void>;
}

const incidentId = /^[0-9a-f-]{36}$/;

export function routeCallers({ authenticator, audit }: { authenticator: Authenticator; audit: Audit }): RouteCallers {
  const home = (caller: IncidentCaller) => (caller.kind === 'operator' ? operatorRealm : (caller.tenant as string));
  const incidentRef = (request: FastifyRequest) => {
    const { id } = request.params as { id?: string };
    return id !== undefined && incidentId.test(id) ? [`Incident/${id}`] : [];
  };
  return {
    home,
    incidentRef,
    async operator(request) {
      const operator = await authenticator.operator(request, 'operator');
      return { kind: 'operator', actor: { id: `operator:${operator.id}`, role: operator.role, client: 'session' }, accountId: operator.id, requestId: request.id, sourceIp: request.ip, status: 200 };
    },
    async tenant(request, need) {
      const realm = parseTenantId((request.params as { tenant: string }).tenant);
      const principal = await authenticator.principal(request, realm);
      const caller: IncidentCaller = { kind: 'tenant', tenant: realm, actor: actorOf(principal), ...(principal.kind === 'person' ? { accountId: principal.id } : {}), requestId: request.id, sourceIp: request.ip, status: 200 };
      if (!hasCapability(principal.role, need)) {
        const error = forbidden(`Your role (${principal.role}) does not allow this (${need}).`);
        await audit.record(realm, [callerEvent(caller, 'access.denied', [], 'failure', 403, error.code)]);
        throw error;
      }
      return caller;
    },
    async attempt(caller, action, request, work) {
      try {
        return await work();
      } catch (error) {
        if (error instanceof AppError && error.status < 500) await audit.record(home(caller), [callerEvent(caller, error.status === 403 ? 'access.denied' : action, incidentRef(request), 'failure', error.status, error.code)]);
        throw error;
      }
    },
    async recordRead(caller, resources, detail) {
      await audit.record(home(caller), [callerEvent(caller, 'audit.read', resources, 'success', 200, detail)]);
    },
  };
}
