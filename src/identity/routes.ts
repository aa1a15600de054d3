import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { noSession, realmSessions, tenantRealm, type SignInRealm } from './sign-in-realm.js';
import type { Accounts } from './accounts.js';
import { ownSessions } from './own-sessions.js';
import { sessionCookie } from './authenticate.js';
import { IdentityError } from './errors.js';
import type { PasswordResets } from './notifier.js';
import type { SessionInfo, Sessions } from './sessions.js';

const setCookie = (reply: FastifyReply, token: string) => reply.header('set-cookie', `${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`);
const clearCookie = (reply: FastifyReply) => reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);

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
 * sessions), `DELETE /sessions/{id}` (ends one of them), `POST /logout` (ends this session;
 * needs `X-CSRF-Token`), second factors, password change, and the password reset by email
 * (`POST /password-reset`, `POST /password-reset/confirm`). Administrators' account endpoints
 * are in admin-routes.ts.
 */
export function authRoutes({ accounts, sessions, tenants, audit, passwordResets, realm = tenantRealm(tenants) }: { accounts: Accounts; sessions: Sessions; tenants: Tenants; audit: Audit; passwordResets: PasswordResets; realm?: SignInRealm }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const tenantOf = (request: FastifyRequest) => realm.of(request);
    const active = (tenantId: string) => realm.active(tenantId);
    const { current, changing } = realmSessions({ realm, sessions, accounts });
    const own = ownSessions({ sessions, audit });
    // Reset requests finish off the request path: the server closes (and then storage) after them.
    app.addHook('onClose', () => passwordResets.settled());


    /**
     * A new session and token on every login (OWASP ASVS 5 V7.2.4); any cookie sent along is
     * ignored. When the tenant's policy asks this role for a second factor and the account has
     * none, the session is still made, but only the /auth endpoints accept it (authenticate.ts
     * answers `403 second-factor-required` everywhere else) and the answer says to enrol one
     * (OWASP ASVS 5 V6.3.3; NIST SP 800-63B-4 AAL2 for staff).
     */
    async function startSession(request: FastifyRequest, reply: FastifyReply, account: { id: string; role: string; secondFactor: boolean }, secondFactor: boolean) {
      const tenantId = tenantOf(request);
      const policy = await realm.mfaPolicy(tenantId);
      // Staff are every role but patient (permissions.ts, isStaff).
      const enrolmentRequired = !account.secondFactor && (policy === 'everyone' || (policy === 'staff' && account.role !== 'patient'));
      const { token, session } = await sessions.start(tenantId, account.id, { secondFactor, sourceIp: request.ip });
      setCookie(reply, token);
      return reply.status(200).send({
        account: { id: account.id, role: account.role },
        session: { id: session.id, secondFactor: session.secondFactor, expiresAt: session.expiresAt },
        csrfToken: sessions.csrfToken(token),
        secondFactorEnrolmentRequired: enrolmentRequired,
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
      const { account, secondFactorTicket, secondFactorMethods } = await accounts.login({ tenantId, tenantActive: await active(tenantId), email, password, sourceIp: request.ip });
      // An account with a second factor gets a ticket for it, never a session for the password alone.
      if (secondFactorTicket !== undefined) return reply.status(200).send({ secondFactorRequired: true, ticket: secondFactorTicket, methods: secondFactorMethods });
      return startSession(request, reply, account, false);
    });

    app.post('/auth/second-factor', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      // `{ticket, code}`, or `{ticket, passkey}` with a WebAuthn assertion (passkey-routes.ts gives its options).
      const passkey = (request.body as Record<string, unknown> | null)?.['passkey'];
      const { ticket } = fields(request, 'ticket');
      const proof = passkey !== null && typeof passkey === 'object' ? { passkey } : { code: fields(request, 'ticket', 'code').code };
      const tenantId = tenantOf(request);
      if (!(await active(tenantId))) throw new IdentityError('second-factor-failed', 'The code is not valid.', { status: 401, expose: true });
      const account = await accounts.secondFactor({ tenantId, ticket, ...proof, sourceIp: request.ip });
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

    /**
     * Forgotten password, step 1 (OWASP ASVS 5 V6.4.1; NIST SP 800-63B-4 account recovery):
     * always `202 {"status": "sent-if-known"}`, whoever the email belongs to, if anyone — the
     * lookup, the token and the message happen after the answer (notifier.ts). Limited per
     * source address (`429 reset-throttled`) and to three tokens per account an hour.
     */
    // Operators are not offered a self-service reset: a lost operator password is replaced on the
    // host (`tresor operator create`), where the second factor cannot be bypassed by a mailbox.
    if (realm.kind === 'tenant') app.post('/auth/password-reset', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { email } = fields(request, 'email');
      await passwordResets.request({ tenantId: tenantOf(request), email, sourceIp: request.ip });
      return reply.status(202).send({ status: 'sent-if-known' });
    });

    /**
     * Step 2: the token from the message (once, 30 minutes) and a new password under the policy.
     * Unlocks the sign-in and ends every session of the account, wherever it was opened (OWASP
     * ASVS 5 V7.4.3): whoever prompted the reset may be who held one. The second factor stays.
     */
    if (realm.kind === 'tenant') app.post('/auth/password-reset/confirm', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { token, password } = fields(request, 'token', 'password');
      const tenantId = tenantOf(request);
      // A disabled or unknown tenant answers like a bad token.
      if (!(await active(tenantId))) throw badToken();
      const account = await accounts.resetPassword({ tenantId, token, password, sourceIp: request.ip });
      const ended = await sessions.revokeAll(tenantId, account.id);
      return reply.status(200).send({ account: { id: account.id, role: account.role, status: account.status }, sessionsEnded: ended });
    });

    /**
     * Ends one of one's own sessions — a forgotten one on another device (OWASP ASVS 5 V7.5.2,
     * without the re-authentication it asks for: ending a session only removes access; see
     * docs/security.md). Needs the CSRF token, like every change.
     */
    app.delete('/auth/sessions/:sessionId', async (request, reply) => {
      const { session } = await changing(request);
      const tenantId = tenantOf(request);
      const { sessionId } = request.params as { sessionId: string };
      await own.end({ tenantId, accountId: session.accountId, sourceIp: request.ip, requestId: request.id }, sessionId);
      if (sessionId === session.id) clearCookie(reply);
      return reply.status(204).send();
    });

    app.post('/auth/logout', async (request, reply) => {
      const { session } = await changing(request);
      await own.signOut({ tenantId: tenantOf(request), accountId: session.accountId, sourceIp: request.ip, requestId: request.id }, session.id);
      clearCookie(reply);
      return reply.status(204).send();
    });
  };
}
