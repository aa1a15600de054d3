import type { FastifyInstance } from 'fastify';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import type { Accounts } from './accounts.js';
import { IdentityError } from './errors.js';

/**
 * People's sign-in endpoints under `/tenants/{t}/auth` (JSON in and out, errors as RFC 9457
 * problem+json). So far: `POST /setup` — the owner of a new account chooses a first password
 * with the single-use token `tresor user create` printed. Login, sessions and second factors
 * follow (issue #5).
 */
export function authRoutes({ accounts, tenants }: { accounts: Accounts; tenants: Tenants }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.post('/auth/setup', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { tenant } = request.params as { tenant: string };
      const body = request.body as { token?: unknown; password?: unknown } | null;
      if (typeof body?.token !== 'string' || typeof body.password !== 'string') {
        throw new HttpError('body-invalid', 'Send a JSON object {"token": "…", "password": "…"}.', { status: 400 });
      }
      // A disabled or unknown tenant answers like a bad token.
      if ((await tenants.get(tenant))?.status !== 'active') {
        throw new IdentityError('token-invalid', 'This link is not valid: it may have expired or been used already. Ask for a new one.', { status: 400, expose: true });
      }
      const account = await accounts.completeSetup({ tenantId: tenant, token: body.token, password: body.password, sourceIp: request.ip });
      return reply.status(200).send({ account: { id: account.id, role: account.role, status: account.status } });
    });
  };
}
