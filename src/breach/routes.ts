import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { BreachScopes } from './breach.js';
import type { ScopeRequest } from './inputs.js';

/**
 * `POST /platform/breach-scope`: a platform operator (role `operator`, two factors, CSRF token)
 * computes a breach scope. The answer is the scope; nothing is stored (an incident freezes it).
 * Only operators: the scope spans tenants, and its patient lists are what a breach letter needs —
 * a tenant's own staff get them through the incident, not from here.
 */
export function breachRoutes({ authenticator, scopes }: { authenticator: Authenticator; scopes: BreachScopes }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.post('/breach-scope', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const body = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError('body-invalid', 'Send a JSON object: { "from", "to", "suspect", "tenants" }.', { status: 400 });
      const fields = body as Record<string, unknown>;
      const scope = await scopes.compute(
        { from: fields['from'] as ScopeRequest['from'], to: fields['to'] as ScopeRequest['to'], suspect: fields['suspect'], tenants: (fields['tenants'] ?? 'all') as ScopeRequest['tenants'] },
        { actor: { id: `operator:${operator.id}`, role: 'operator', client: 'session' }, sourceIp: request.ip, requestId: request.id },
      );
      // The patient list is personal data: never kept by a cache on the way.
      return reply.header('cache-control', 'no-store').send(scope);
    });
  };
}
