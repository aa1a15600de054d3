import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cookieToken, isStaff, parseRole, personRoles, sessionCookie, type Accounts, type Sessions } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import { AppError } from '../platform/errors.js';
import { parseTenantId, type Tenants } from '../tenants/index.js';
import type { Clients } from './clients.js';
import type { Consents } from './consents.js';
import { accountSignInPage, connectedAppsPage, messagePage, secondFactorPage } from './pages.js';
import { formLimit, sendPage, servePages } from './page-http.js';
import type { OAuthServer } from './provider.js';

export interface AccountPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly clients: Clients;
  readonly consents: Consents;
  readonly oauth: OAuthServer;
  readonly keys: Keys;
}

/** A sign-in form's CSRF pair before any session exists: a random cookie and its HMAC in the form (signed double submit, OWASP CSRF Prevention Cheat Sheet). */
const formCookie = '__Host-tresor_form';

/**
 * "Connected apps" as a web page for people (patients above all): `/tenants/{t}/account/apps`
 * lists the apps they allowed — each with its publisher and what it may do in plain words —
 * with a button to withdraw each. It signs people in with their Tresor session (the same cookie
 * as the JSON API: `__Host-`, HttpOnly, SameSite=Strict), password and then their second factor
 * (a code; passkey-only accounts use the JSON API or an app's sign-in page). No script; the same
 * CSP as the app sign-in pages; every form carries a CSRF token.
 */
export function accountPages({ accounts, sessions, tenants, clients, consents, oauth, keys }: AccountPagesDeps) {
  async function formToken(tenantId: string, nonce: string): Promise<string> {
    const key = Buffer.from(hkdfSync('sha256', await keys.indexKey(tenantId), Buffer.alloc(0), 'tresor account forms', 32));
    return createHmac('sha256', key).update(nonce).digest('base64url');
  }

  const see = (reply: FastifyReply, location: string) => reply.status(303).header('location', location).send();
  const baseOf = (tenantId: string) => `/tenants/${tenantId}/account`;

  function nonceOf(request: FastifyRequest): string | undefined {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === formCookie) return value.join('=') || undefined;
    }
    return undefined;
  }

  /** The sign-in form, with a fresh CSRF pair. */
  async function signInForm(reply: FastifyReply, tenantId: string, error?: string, email?: string, status = 200) {
    const nonce = randomBytes(32).toString('base64url');
    reply.header('set-cookie', `${formCookie}=${nonce}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=1800`);
    return sendPage(reply, accountSignInPage({ action: `${baseOf(tenantId)}/sign-in`, csrf: await formToken(tenantId, nonce), ...(error === undefined ? {} : { error }), ...(email === undefined ? {} : { email }) }), status);
  }

  async function checkSignInForm(request: FastifyRequest, tenantId: string): Promise<Record<string, string>> {
    const form = (request.body ?? {}) as Record<string, string>;
    const nonce = nonceOf(request);
    const ok = nonce !== undefined && typeof form['csrf'] === 'string' && constantTimeEqual(Buffer.from(form['csrf']), Buffer.from(await formToken(tenantId, nonce)));
    if (!ok) throw new AppError('csrf-invalid', 'This form has expired; open the page again.', { status: 403, expose: true });
    return form;
  }

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

  async function startSession(reply: FastifyReply, request: FastifyRequest, tenantId: string, account: { id: string; role: string; secondFactor: boolean }, secondFactor: boolean) {
    const policy = await tenants.mfaPolicy(tenantId);
    const role = parseRole(account.role, personRoles);
    if (!secondFactor && (policy === 'everyone' || (policy === 'staff' && isStaff(role)))) {
      return sendPage(reply, messagePage('Second factor required', 'Your organisation requires a second factor for your account. Set one up in Tresor first.'), 403);
    }
    const { token } = await sessions.start(tenantId, account.id, { secondFactor, sourceIp: request.ip });
    reply.header('set-cookie', [`${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`, `${formCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`]);
    return see(reply, `${baseOf(tenantId)}/apps`);
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
      if (me === undefined) return signInForm(reply, tenantId);
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

    app.post('/tenants/:tenant/account/sign-in', { bodyLimit: formLimit }, async (request, reply) => {
      const tenantId = await tenantOf(request);
      const form = await checkSignInForm(request, tenantId);
      const email = String(form['email'] ?? '');
      try {
        const { account, secondFactorTicket } = await accounts.login({ tenantId, tenantActive: true, email, password: String(form['password'] ?? ''), sourceIp: request.ip });
        if (secondFactorTicket !== undefined) {
          return sendPage(reply, secondFactorPage({ action: `${baseOf(tenantId)}/second-factor`, csrf: String(form['csrf']), ticket: secondFactorTicket, passkey: false }));
        }
        return startSession(reply, request, tenantId, account, false);
      } catch (error) {
        if (error instanceof AppError && error.expose && error.status < 500) return signInForm(reply, tenantId, error.message, email, error.status);
        throw error;
      }
    });

    app.post('/tenants/:tenant/account/second-factor', { bodyLimit: formLimit }, async (request, reply) => {
      const tenantId = await tenantOf(request);
      const form = await checkSignInForm(request, tenantId);
      const ticket = String(form['ticket'] ?? '');
      try {
        const account = await accounts.secondFactor({ tenantId, ticket, code: String(form['code'] ?? ''), sourceIp: request.ip });
        return startSession(reply, request, tenantId, account, true);
      } catch (error) {
        if (error instanceof AppError && error.expose && error.status < 500) {
          return sendPage(reply, secondFactorPage({ action: `${baseOf(tenantId)}/second-factor`, csrf: String(form['csrf']), ticket, passkey: false, error: error.message }), error.status);
        }
        throw error;
      }
    });

    app.post('/tenants/:tenant/account/apps/:grantId/withdraw', { bodyLimit: formLimit }, async (request, reply) => {
      const tenantId = await tenantOf(request);
      const me = await live(request, tenantId);
      if (me === undefined) return see(reply, `${baseOf(tenantId)}/apps`);
      const form = (request.body ?? {}) as Record<string, string>;
      if (!sessions.checkCsrf(me.token, typeof form['csrf'] === 'string' ? form['csrf'] : undefined)) throw new AppError('csrf-invalid', 'This form has expired; open the page again.', { status: 403, expose: true });
      const { grantId } = request.params as { grantId: string };
      await oauth.withdrawConsent(tenantId, grantId, { accountId: me.account.id, role: me.account.role }, { sourceIp: request.ip, requestId: request.id, status: 303 });
      return see(reply, `${baseOf(tenantId)}/apps?withdrawn=1`);
    });

    app.post('/tenants/:tenant/account/sign-out', { bodyLimit: formLimit }, async (request, reply) => {
      const tenantId = await tenantOf(request);
      const me = await live(request, tenantId);
      const form = (request.body ?? {}) as Record<string, string>;
      if (me !== undefined && sessions.checkCsrf(me.token, typeof form['csrf'] === 'string' ? form['csrf'] : undefined)) await sessions.revoke(tenantId, me.session.id);
      reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
      return see(reply, `${baseOf(tenantId)}/apps`);
    });
  };
}
