import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import type { ScopeRequest } from '../breach/index.js';
import type { Authenticator } from '../identity/index.js';
import { invalid } from './errors.js';
import type { FrozenScopes } from './frozen-scopes.js';
import { routeCallers } from './route-callers.js';

export interface ScopeRoutesDeps {
  readonly scopes: FrozenScopes;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

type Params = { id: string; scopeId?: string };

/**
 * Breach scopes frozen into an incident (RFC 9457 problem+json errors):
 *
 * - `/platform/incidents/{id}/scopes`: an operator (role `operator`, two factors) computes and
 *   freezes one (POST, the body of `POST /platform/breach-scope`), lists them, reads one whole
 *   (`Cache-Control: no-store`: it lists patients) and verifies one.
 * - `/tenants/{t}/incidents/{id}/scopes`: a tenant admin (`incidents:manage`) of an affected
 *   tenant reads their tenant's part of each — the data controller needs its patients to notify
 *   them. An auditor, who reads incidents, does not get patient lists (least privilege).
 *
 * Every answer that carries a scope is an `audit.read` in the caller's trail; a refusal after
 * the door is recorded (OWASP ASVS 5 V16.3.2).
 */
export function incidentScopeRoutes({ scopes, authenticator, audit }: ScopeRoutesDeps) {
  const callers = routeCallers({ authenticator, audit });
  const operatorCaller = (request: FastifyRequest) => callers.operator(request);
  // The data controller needs its patients to notify them; an auditor, who reads incidents, does not get patient lists.
  const tenantCaller = (request: FastifyRequest) => callers.tenant(request, 'incidents:manage');
  const attempt = callers.attempt;
  const ref = (request: FastifyRequest) => callers.incidentRef(request);

  return {
    /** Under `/platform`. */
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      app.post('/incidents/:id/scopes', { bodyLimit: 64 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const frozen = await attempt(caller, 'incident.scope_frozen', request, async () => {
          const body = request.body as unknown;
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('Send a JSON object: { "from", "to", "suspect", "tenants" }.');
          const fields = body as Record<string, unknown>;
          const scopeRequest: ScopeRequest = { from: fields['from'] as ScopeRequest['from'], to: fields['to'] as ScopeRequest['to'], suspect: fields['suspect'], tenants: (fields['tenants'] ?? 'all') as ScopeRequest['tenants'] };
          return scopes.freezeScope(caller, (request.params as Params).id, scopeRequest);
        });
        return reply.code(201).header('cache-control', 'no-store').send(frozen);
      });
      app.get('/incidents/:id/scopes', async (request, reply) => {
        const caller = await operatorCaller(request);
        const list = await attempt(caller, 'audit.read', request, () => scopes.list(caller, (request.params as Params).id));
        await callers.recordRead(caller, ref(request), `incident scopes (${list.length})`);
        return reply.header('cache-control', 'no-store').send({ scopes: list });
      });
      app.get('/incidents/:id/scopes/:scopeId', async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, scopeId } = request.params as Required<Params>;
        const text = await attempt(caller, 'audit.read', request, () => scopes.get(caller, id, scopeId));
        // The whole scope lists patients: a read of personal data, recorded as one.
        await callers.recordRead(caller, ref(request), `incident scope ${scopeId}`);
        return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(text);
      });
      app.post('/incidents/:id/scopes/:scopeId/verify', async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, scopeId } = request.params as Required<Params>;
        const check = await attempt(caller, 'incident.scope_verified', request, () => scopes.verifyFrozen(caller, id, scopeId));
        return reply.header('cache-control', 'no-store').send(check);
      });
    },
    /** Under `/tenants/:tenant`. */
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/incidents/:id/scopes', async (request, reply) => {
        const caller = await tenantCaller(request);
        const list = await attempt(caller, 'audit.read', request, () => scopes.list(caller, (request.params as Params).id));
        await callers.recordRead(caller, ref(request), `incident scopes (${list.length})`);
        return reply.header('cache-control', 'no-store').send({ scopes: list });
      });
    },
  };
}
