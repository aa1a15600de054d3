import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenant, Tenants } from '../tenants/index.js';
import type { Authenticator } from './authenticate.js';
import { createOperatorTenants, type OperatorAct, type TenantMover } from './operator-tenants.js';

/**
 * The platform operators' console API under `/platform` (SPEC I7: production access limited
 * to administrators, every access recorded): tenants are listed, created, disabled and given a
 * second-factor policy here. Operators never reach records or a tenant's people; each action is
 * an event of the operators' own audit trail and of the tenant's. Every call needs an operator
 * session that passed a second factor (authenticate.ts) and, on changes, its CSRF token. What
 * each call does, and its audit events, is operator-tenants.ts (the operator console's pages
 * call the same).
 */
export function operatorRoutes({ authenticator, tenants, audit, mover }: { authenticator: Authenticator; tenants: Tenants; audit: Audit; mover?: TenantMover | undefined }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const view = (t: Tenant) => ({ id: t.id, name: t.name, status: t.status, createdAt: t.createdAt, mfaPolicy: t.mfaPolicy, region: t.region, ...(t.disabledAt === undefined ? {} : { disabledAt: t.disabledAt }), ...(t.movingSince === undefined ? {} : { movingSince: t.movingSince }) });

    const desk = createOperatorTenants({ tenants, audit, mover });
    const by = (request: FastifyRequest, operatorId: string): OperatorAct => ({ operatorId, sourceIp: request.ip, requestId: request.id });
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
      const list = await desk.list(by(request, operator.id));
      return reply.send({ tenants: list.map(view) });
    });

    app.post('/tenants', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const fields = body(request);
      const created = await desk.create(
        by(request, operator.id),
        text(fields['id'], 'id'),
        fields['name'] === undefined ? undefined : text(fields['name'], 'name'),
        fields['region'] === undefined ? undefined : text(fields['region'], 'region'),
      );
      return reply.status(201).send(view(created));
    });

    app.post('/tenants/:id/disable', async (request, reply) => {
      const operator = await authenticator.operator(request);
      const disabled = await desk.disable(by(request, operator.id), (request.params as { id: string }).id);
      return reply.send(view(disabled));
    });

    // A move to another region, online: the tenant's requests are answered 503 until it is done
    // (regions/move-tenant.ts); the answer says where it went, how long it took, and the backup.
    app.post('/tenants/:id/move', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const { id } = request.params as { id: string };
      const fields = body(request);
      const report = await desk.move(by(request, operator.id), id, text(fields['to'], 'to'), fields['reason'] === undefined ? '' : text(fields['reason'], 'reason'));
      const moved = await tenants.get(id);
      return reply.send({ ...(moved === undefined ? {} : { tenant: view(moved) }), from: report.from, to: report.to, keysCopied: report.keysCopied, keysDestroyed: report.keysDestroyed, unavailableMs: report.unavailableMs, backup: report.backup, ...(report.leftovers === undefined ? {} : { leftovers: report.leftovers }) });
    });

    app.put('/tenants/:id/settings/mfa', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const operator = await authenticator.operator(request);
      const { id } = request.params as { id: string };
      const changed = await desk.setMfaPolicy(by(request, operator.id), id, text(body(request)['policy'], 'policy'));
      return reply.send(view(changed));
    });
  };
}
