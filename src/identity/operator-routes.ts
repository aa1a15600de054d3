import type { FastifyInstance, FastifyRequest } from 'fastify';
import { operatorEvent, type Actor, type Audit, type AuditAction } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenant, Tenants } from '../tenants/index.js';
import type { Authenticator } from './authenticate.js';
import { operatorRealm } from './realm.js';

/**
 * The platform operators' console API under `/platform` (SPEC I7: production access limited
 * to administrators, every access recorded): tenants are listed, created, disabled and given a
 * second-factor policy here. Operators never reach records or a tenant's people; each action is
 * an event of the operators' own audit trail and of the tenant's. Every call needs an operator
 * session that passed a second factor (authenticate.ts) and, on changes, its CSRF token.
 */
export function operatorRoutes({ authenticator, tenants, audit }: { authenticator: Authenticator; tenants: Tenants; audit: Audit }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const view = (t: Tenant) => ({ id: t.id, name: t.name, status: t.status, createdAt: t.createdAt, mfaPolicy: t.mfaPolicy, ...(t.disabledAt === undefined ? {} : { disabledAt: t.disabledAt }) });

    /** The change is recorded in both trails: the operators' (who did what) and the tenant's (what happened to it). */
    async function recorded(request: FastifyRequest, actor: Actor, action: AuditAction, tenantId: string, detail = '') {
      const event = { ...operatorEvent(action, actor, { resources: [`Tenant/${tenantId}`], detail }), sourceIp: request.ip, requestId: request.id };
      await audit.record(operatorRealm, [event]);
      await audit.record(tenantId, [event]);
    }
    const actorOf = (id: string): Actor => ({ id: `operator:${id}`, role: 'operator', client: 'session' });
    const body = (request: FastifyRequest): Record<string, unknown> => {
      const value = request.body;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
      return value as Record<string, unknown>;
    };
    const text = (value: unknown, name: string): string => {
      if (typeof value !== 'string') throw new HttpError('body-invalid', `"${name}" is a string.`, { status: 400 });
      return value;
    };

    app.get('/tenants', async (request, reply) => {
      const operator = await authenticator.operator(request);
      const list = await tenants.list();
      await audit.record(operatorRealm, [{ ...operatorEvent('tenant.listed', actorOf(operator.id), { detail: `${list.length} tenants` }), sourceIp: request.ip, requestId: request.id }]);
      return reply.send({ tenants: list.map(view) });
    });

    app.post('/tenants', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const fields = body(request);
      const created = await tenants.create(text(fields['id'], 'id'), fields['name'] === undefined ? undefined : text(fields['name'], 'name'));
      await recorded(request, actorOf(operator.id), 'tenant.created', created.id);
      return reply.status(201).send(view(created));
    });

    app.post('/tenants/:id/disable', async (request, reply) => {
      const operator = await authenticator.operator(request);
      const disabled = await tenants.disable((request.params as { id: string }).id);
      await recorded(request, actorOf(operator.id), 'tenant.disabled', disabled.id);
      return reply.send(view(disabled));
    });

    app.put('/tenants/:id/settings/mfa', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const { id } = request.params as { id: string };
      if ((await tenants.get(id)) === undefined) throw new HttpError('not-found', `No tenant ${id}.`, { status: 404 });
      const changed = await tenants.setMfaPolicy(id, text(body(request)['policy'], 'policy'));
      await recorded(request, actorOf(operator.id), 'tenant.settings_changed', changed.id, `mfa ${changed.mfaPolicy}`);
      return reply.send(view(changed));
    });
  };
}
