import type { FastifyInstance, FastifyRequest } from 'fastify';
import { operatorEvent, type Audit } from '../audit/index.js';
import { actorOf, forbidden, type Authenticator } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { AlertActor } from './alerts.js';
import type { AlertDelivery } from './webhooks.js';

export interface WebhookRoutesDeps {
  readonly authenticator: Authenticator;
  readonly delivery: AlertDelivery;
  readonly audit: Audit;
  /** The operators' realm: `/platform/alerts/webhooks` manages its endpoints. */
  readonly operatorRealm: string;
}

type Admit = (request: FastifyRequest) => Promise<{ realm: string; by: AlertActor }>;

/**
 * Webhook endpoints for a realm's alerts (JSON, errors as RFC 9457 problem+json), the same five
 * routes on two surfaces: under `/tenants/{t}` for the tenant's admins (the `tenant-admin` role,
 * a person's session or an API key; anyone else gets 403, audited as `access.denied` — OWASP
 * ASVS 5 V8.2.1), under `/platform` for operators (role `operator`, a session with a second
 * factor). Deliberately narrower than `alerts:manage` (which auditors hold too): an endpoint
 * sends alerts out of Tresor, so only the people who run the tenant may add one.
 *
 * - `GET /alerts/webhooks`; `POST /alerts/webhooks` `{url, description?}` → 201 with the signing
 *   `secret`, which no later answer repeats; `DELETE /alerts/webhooks/{id}` → 204;
 * - `GET /alerts/webhooks/{id}/deliveries?limit=` — each delivery with its attempts (status,
 *   error code, duration), never a response body and never the secret.
 */
export function webhookRoutes({ authenticator, delivery, audit, operatorRealm }: WebhookRoutesDeps) {
  const tenantAdmin: Admit = async (request) => {
    const realm = (request.params as { tenant: string }).tenant;
    const principal = await authenticator.principal(request, realm);
    const by: AlertActor = { actor: actorOf(principal), requestId: request.id, sourceIp: request.ip };
    if (principal.role !== 'tenant-admin') {
      await audit.record(realm, [{ ...operatorEvent('access.denied', by.actor, { outcome: 'failure', detail: 'forbidden' }), purpose: 'HOPERAT', sourceIp: by.sourceIp, requestId: by.requestId, status: 403 }]);
      throw forbidden(`Your role (${principal.role}) does not allow this (alert webhooks are the tenant admins').`);
    }
    return { realm, by };
  };
  const operator: Admit = async (request) => {
    // The `operator` role: a backup-operator reaches backups and nothing else.
    const o = await authenticator.operator(request, 'operator');
    return { realm: operatorRealm, by: { actor: { id: `account:${o.id}`, role: o.role, client: 'session' }, requestId: request.id, sourceIp: request.ip } };
  };
  const body = (request: FastifyRequest): Record<string, unknown> => {
    const value = request.body;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
    return value as Record<string, unknown>;
  };
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  const surface = (admit: Admit) =>
    async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/alerts/webhooks', async (request, reply) => {
        const { realm } = await admit(request);
        return reply.send({ webhooks: await delivery.listEndpoints(realm) });
      });
      app.post('/alerts/webhooks', { bodyLimit: 16 * 1024 }, async (request, reply) => {
        const { realm, by } = await admit(request);
        const fields = body(request);
        const { endpoint, secret } = await delivery.addEndpoint(realm, { url: fields['url'], description: fields['description'] }, by);
        // The secret once, here; it is stored sealed and never shown again (rotate by adding a new endpoint).
        return reply.status(201).header('cache-control', 'no-store').send({ ...endpoint, secret });
      });
      app.delete('/alerts/webhooks/:id', async (request, reply) => {
        const { realm, by } = await admit(request);
        await delivery.removeEndpoint(realm, idOf(request), by);
        return reply.status(204).send();
      });
      app.get('/alerts/webhooks/:id/deliveries', async (request, reply) => {
        const { realm } = await admit(request);
        const limit = Number((request.query as { limit?: string }).limit ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new HttpError('request-invalid', 'limit: 1 to 200.', { status: 400 });
        return reply.send({ deliveries: await delivery.deliveries(realm, idOf(request), limit) });
      });
    };

  return { tenant: surface(tenantAdmin), platform: surface(operator) };
}
