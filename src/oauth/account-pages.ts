import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cookieToken, type Accounts, type Sessions } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { parseTenantId, type Tenants } from '../tenants/index.js';
import type { Clients } from './clients.js';
import type { Consents } from './consents.js';
import { connectedAppsPage } from './pages.js';
import { formLimit, sendPage, servePages } from '../platform/pages/index.js';
import type { OAuthServer } from './provider.js';

export interface AccountPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly clients: Clients;
  readonly consents: Consents;
  readonly oauth: OAuthServer;
}

/**
 * "Connected apps" as a web page for people (patients above all): `/tenants/{t}/account/apps`
 * lists the apps they allowed — each with its publisher and what it may do in plain words —
 * with a button to withdraw each, for the person of the Tresor session (the same cookie as the
 * JSON API); without one it sends them to the sign-in page (console module) and back. No script;
 * the same CSP as the app sign-in pages; every form carries a CSRF token.
 */
export function accountPages({ accounts, sessions, tenants, clients, consents, oauth }: AccountPagesDeps) {
  const see = (reply: FastifyReply, location: string) => reply.status(303).header('location', location).send();
  const baseOf = (tenantId: string) => `/tenants/${tenantId}/account`;
  const signIn = (tenantId: string) => `${baseOf(tenantId)}/sign-in?next=${encodeURIComponent(`${baseOf(tenantId)}/apps`)}`;

  /** The live session of this tenant whose account is active, or undefined. */
  async function live(request: FastifyRequest, tenantId: string) {
    const token = cookieToken(request);
    if (token === undefined) return undefined;
    const session = await sessions.resolve(tenantId, token);
    if (session === undefined) return undefined;
    const account = await accounts.access(tenantId, session.accountId);
    if (account === undefined || account.status !== 'active') return undefined;
    return { token, session, account };
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    servePages(app, 'account page');
    const tenantOf = async (request: FastifyRequest) => {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      await tenants.requireActive(tenantId);
      return tenantId;
    };

    app.get('/tenants/:tenant/account/apps', async (request, reply) => {
      const tenantId = await tenantOf(request);
      const me = await live(request, tenantId);
      if (me === undefined) return see(reply, signIn(tenantId));
      const known = new Map((await clients.list(tenantId)).map((c) => [c.clientId, c]));
      const apps = (await consents.listOf(tenantId, me.account.id)).map((c) => ({
        grantId: c.grantId,
        name: known.get(c.clientId)?.name ?? 'A removed app',
        publisher: known.get(c.clientId)?.publisher ?? 'unknown',
        scopes: c.scope.split(' ').filter(Boolean),
        since: c.grantedAt,
        ...(c.patient === undefined ? {} : { patient: me.account.patient === c.patient ? 'your own records' : c.patient }),
      }));
      const notice = (request.query as { withdrawn?: string }).withdrawn === '1' ? 'Access withdrawn: the app can no longer use your records.' : undefined;
      return sendPage(reply, connectedAppsPage({ apps, csrf: sessions.csrfToken(me.token), base: baseOf(tenantId), ...(notice === undefined ? {} : { notice }) }));
    });

    app.post('/tenants/:tenant/account/apps/:grantId/withdraw', { bodyLimit: formLimit }, async (request, reply) => {
      const tenantId = await tenantOf(request);
      const me = await live(request, tenantId);
      if (me === undefined) return see(reply, signIn(tenantId));
      const form = (request.body ?? {}) as Record<string, string>;
      if (!sessions.checkCsrf(me.token, typeof form['csrf'] === 'string' ? form['csrf'] : undefined)) throw new AppError('csrf-invalid', 'This form has expired; open the page again.', { status: 403, expose: true });
      const { grantId } = request.params as { grantId: string };
      await oauth.withdrawConsent(tenantId, grantId, { accountId: me.account.id, role: me.account.role }, { sourceIp: request.ip, requestId: request.id, status: 303 });
      return see(reply, `${baseOf(tenantId)}/apps?withdrawn=1`);
    });

  };
}
