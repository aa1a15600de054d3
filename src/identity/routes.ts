import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operatorEvent, type Audit } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import type { Accounts } from './accounts.js';
import { cookieToken, csrfInvalid, sessionCookie } from './authenticate.js';
import { IdentityError } from './errors.js';
import type { SessionInfo, Sessions } from './sessions.js';

const setCookie = (reply: FastifyReply, token: string) => reply.header('set-cookie', `${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`);
const clearCookie = (reply: FastifyReply) => reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);

const noSession = () => new IdentityError('unauthenticated', 'Sign in first: there is no live session.', { status: 401, expose: true });
const badToken = () => new IdentityError('token-invalid', 'This link is not valid: it may have expired or been used already. Ask for a new one.', { status: 400, expose: true });

function fields<K extends string>(request: FastifyRequest, ...names: K[]): Record<K, string> {
  const body = request.body as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object' || names.some((n) => typeof body[n] !== 'string')) {
    throw new HttpError('body-invalid', `Send a JSON object with ${names.map((n) => `"${n}"`).join(', ')} as strings.`, { status: 400 });
  }
  return body as Record<K, string>;
}

/**
 * People's sign-in endpoints under `/tenants/{t}/auth` (JSON in and out, errors as RFC 9457
 * problem+json): `POST /setup` (first password, with the token `tresor user create` printed),
 * `POST /login` (password; a session cookie and its CSRF token), `GET /sessions` (one's own live
 * sessions), `POST /logout` (ends this session; needs `X-CSRF-Token`). Second factors and the
 * permission matrix follow (issue #5); no records are reachable with a session yet.
 */
export function authRoutes({ accounts, sessions, tenants, audit }: { accounts: Accounts; sessions: Sessions; tenants: Tenants; audit: Audit }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const tenantOf = (request: FastifyRequest) => (request.params as { tenant: string }).tenant;
    const active = async (tenantId: string) => (await tenants.get(tenantId))?.status === 'active';

    /** The caller's live session (cookie), for endpoints that need one. */
    async function current(request: FastifyRequest): Promise<{ token: string; session: SessionInfo }> {
      const token = cookieToken(request);
      const tenantId = tenantOf(request);
      if (token === undefined || !(await active(tenantId))) throw noSession();
      const session = await sessions.resolve(tenantId, token);
      if (session === undefined) throw noSession();
      return { token, session };
    }

    /** A new session and token on every login (OWASP ASVS 5 V7.2.4); any cookie sent along is ignored. */
    async function startSession(request: FastifyRequest, reply: FastifyReply, account: { id: string; role: string }, secondFactor: boolean) {
      const { token, session } = await sessions.start(tenantOf(request), account.id, { secondFactor, sourceIp: request.ip });
      setCookie(reply, token);
      return reply.status(200).send({
        account: { id: account.id, role: account.role },
        session: { id: session.id, secondFactor: session.secondFactor, expiresAt: session.expiresAt },
        csrfToken: sessions.csrfToken(token),
      });
    }

    /** After a password or factor change: every other session ends (OWASP ASVS 5 V7.4.3), this one goes on under a new token (V7.2.4). */
    async function afterFactorChange(reply: FastifyReply, tenantId: string, token: string, session: SessionInfo) {
      const ended = await sessions.revokeAll(tenantId, session.accountId, session.id);
      const fresh = await sessions.rotate(tenantId, token);
      if (fresh === undefined) throw noSession();
      setCookie(reply, fresh);
      return reply.status(200).send({ otherSessionsEnded: ended, csrfToken: sessions.csrfToken(fresh) });
    }

    /** A live session whose request carries its CSRF token: for every cookie-authenticated change (OWASP CSRF Prevention Cheat Sheet). */
    async function changing(request: FastifyRequest): Promise<{ token: string; session: SessionInfo }> {
      const live = await current(request);
      const presented = request.headers['x-csrf-token'];
      if (!sessions.checkCsrf(live.token, typeof presented === 'string' ? presented : undefined)) throw csrfInvalid();
      return live;
    }

    app.post('/auth/setup', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { token, password } = fields(request, 'token', 'password');
      // A disabled or unknown tenant answers like a bad token.
      if (!(await active(tenantOf(request)))) throw badToken();
      const account = await accounts.completeSetup({ tenantId: tenantOf(request), token, password, sourceIp: request.ip });
      return reply.status(200).send({ account: { id: account.id, role: account.role, status: account.status } });
    });

    app.post('/auth/login', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { email, password } = fields(request, 'email', 'password');
      const tenantId = tenantOf(request);
      const { account, secondFactorTicket } = await accounts.login({ tenantId, tenantActive: await active(tenantId), email, password, sourceIp: request.ip });
      // An account with a second factor gets a ticket for it, never a session for the password alone.
      if (secondFactorTicket !== undefined) return reply.status(200).send({ secondFactorRequired: true, ticket: secondFactorTicket, methods: ['totp', 'recovery-code'] });
      return startSession(request, reply, account, false);
    });

    app.post('/auth/second-factor', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { ticket, code } = fields(request, 'ticket', 'code');
      const tenantId = tenantOf(request);
      if (!(await active(tenantId))) throw new IdentityError('second-factor-failed', 'The code is not valid.', { status: 401, expose: true });
      const account = await accounts.secondFactor({ tenantId, ticket, code, sourceIp: request.ip });
      return startSession(request, reply, account, true);
    });

    app.post('/auth/totp', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { session } = await changing(request);
      const { password } = fields(request, 'password');
      const enrolment = await accounts.beginTotp({ tenantId: tenantOf(request), accountId: session.accountId, password, sourceIp: request.ip });
      return reply.status(200).send(enrolment);
    });

    app.post('/auth/totp/confirm', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { token, session } = await changing(request);
      const { code } = fields(request, 'code');
      const tenantId = tenantOf(request);
      const { recoveryCodes } = await accounts.confirmTotp({ tenantId, accountId: session.accountId, code, sourceIp: request.ip });
      // Both factors were just shown: the session says so, under a new token (OWASP ASVS 5 V7.2.4).
      await sessions.markSecondFactor(tenantId, session.id);
      const fresh = await sessions.rotate(tenantId, token);
      if (fresh === undefined) throw noSession();
      setCookie(reply, fresh);
      return reply.status(200).send({ recoveryCodes, csrfToken: sessions.csrfToken(fresh) });
    });

    app.get('/auth/sessions', async (request, reply) => {
      const { session } = await current(request);
      const mine = await sessions.list(tenantOf(request), session.accountId);
      return reply.send({ sessions: mine.map((s) => ({ ...s, current: s.id === session.id })) });
    });

    app.post('/auth/password', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { token, session } = await changing(request);
      const { current: now, next } = fields(request, 'current', 'next');
      const tenantId = tenantOf(request);
      await accounts.changePassword({ tenantId, accountId: session.accountId, current: now, next, sourceIp: request.ip });
      return afterFactorChange(reply, tenantId, token, session);
    });

    app.post('/auth/totp/remove', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { token, session } = await changing(request);
      const { password, code } = fields(request, 'password', 'code');
      const tenantId = tenantOf(request);
      await accounts.removeTotp({ tenantId, accountId: session.accountId, password, code, sourceIp: request.ip });
      return afterFactorChange(reply, tenantId, token, session);
    });

    app.post('/auth/recovery-codes', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { session } = await changing(request);
      const { password } = fields(request, 'password');
      return reply.status(200).send(await accounts.renewRecoveryCodes({ tenantId: tenantOf(request), accountId: session.accountId, password, sourceIp: request.ip }));
    });

    app.post('/auth/logout', async (request, reply) => {
      const { session } = await changing(request);
      await sessions.revoke(tenantOf(request), session.id);
      const actor = { id: `account:${session.accountId}`, role: 'session', client: 'tresor-auth' };
      await audit.record(tenantOf(request), [{ ...operatorEvent('session.revoked', actor, { resources: [`Account/${session.accountId}`], detail: 'logout' }), purpose: 'HOPERAT', sourceIp: request.ip, status: 204 }]);
      clearCookie(reply);
      return reply.status(204).send();
    });
  };
}
