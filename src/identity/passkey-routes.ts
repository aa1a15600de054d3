import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { noSession, realmSessions, tenantRealm, type SignInRealm } from './sign-in-realm.js';
import type { Accounts } from './accounts.js';
import { sessionCookie } from './authenticate.js';
import { IdentityError } from './errors.js';
import type { Passkeys } from './passkeys.js';
import type { Sessions } from './sessions.js';

const setCookie = (reply: FastifyReply, token: string) => reply.header('set-cookie', `${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`);

/** The JSON object a request carries, with these members of these kinds. */
function body<K extends string>(request: FastifyRequest, members: Record<K, 'string' | 'object'>): Record<K, unknown> {
  const value = request.body as Record<string, unknown> | null;
  const ok = value !== null && typeof value === 'object' && Object.entries(members).every(([name, kind]) => (kind === 'object' ? value[name] !== null && typeof value[name] === 'object' && !Array.isArray(value[name]) : typeof value[name] === kind));
  if (!ok) {
    const list = Object.entries(members).map(([name, kind]) => `"${name}" (${kind === 'object' ? 'an object' : 'a string'})`);
    throw new HttpError('body-invalid', `Send a JSON object with ${list.join(', ')}.`, { status: 400 });
  }
  return value as Record<K, unknown>;
}

/**
 * Passkeys (WebAuthn) as a second factor, under `/tenants/{t}/auth` beside routes.ts: JSON in
 * and out, errors as RFC 9457 problem+json, the session cookie and `X-CSRF-Token` for changes.
 *
 * - `POST /passkeys/options` `{password}` → options for `navigator.credentials.create` (the
 *   password again: OWASP ASVS 5 V7.5.1);
 * - `POST /passkeys` `{response, name}` → 201 `{passkey, recoveryCodes?, csrfToken}`: the session
 *   has now passed a second factor and continues under a new token (V7.2.4), as after TOTP;
 * - `GET /passkeys` → `{passkeys: [{id, name, createdAt, lastUsedAt}]}`, one's own;
 * - `POST /passkeys/{id}/remove` `{password}` → every other session ends (V7.4.3);
 * - `POST /second-factor/passkey/options` `{ticket}` → options for `navigator.credentials.get`
 *   for a login's second step; the assertion then goes to `POST /second-factor` `{ticket, passkey}`.
 */
export function passkeyRoutes({ accounts, passkeys, sessions, tenants, realm = tenantRealm(tenants) }: { accounts: Accounts; passkeys: Passkeys; sessions: Sessions; tenants: Tenants; realm?: SignInRealm }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const tenantOf = (request: FastifyRequest) => realm.of(request);
    const active = (tenantId: string) => realm.active(tenantId);
    const { current, changing } = realmSessions({ realm, sessions, accounts });



    app.post('/auth/passkeys/options', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { session } = await changing(request);
      const { password } = body(request, { password: 'string' });
      const tenantId = tenantOf(request);
      const account = await accounts.reauthenticate({ tenantId, accountId: session.accountId, password: password as string, sourceIp: request.ip });
      return reply.status(200).send(await passkeys.registrationOptions({ tenantId, account, sessionId: session.id }));
    });

    // An attestation with a certificate chain can take a few kilobytes.
    app.post('/auth/passkeys', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const { token, session } = await changing(request);
      const { response, name } = body(request, { response: 'object', name: 'string' });
      const tenantId = tenantOf(request);
      const account = await accounts.get(tenantId, session.accountId);
      if (account === undefined || account.status !== 'active') throw noSession();
      const { passkey, recoveryCodes } = await passkeys.register({ tenantId, account, sessionId: session.id, response, name: name as string, sourceIp: request.ip });
      // Both factors were just shown: the session says so, under a new token (OWASP ASVS 5 V7.2.4).
      await sessions.markSecondFactor(tenantId, session.id);
      const fresh = await sessions.rotate(tenantId, token);
      if (fresh === undefined) throw noSession();
      setCookie(reply, fresh);
      return reply.status(201).send({ passkey, ...(recoveryCodes === undefined ? {} : { recoveryCodes }), csrfToken: sessions.csrfToken(fresh) });
    });

    app.get('/auth/passkeys', async (request, reply) => {
      const { session } = await current(request);
      return reply.send({ passkeys: await passkeys.list(tenantOf(request), session.accountId) });
    });

    // `/passkeys/{id}/remove`, as a wildcard: credential ids may be longer than the router's
    // 128-character limit for a path parameter (WebAuthn allows up to 1,023 bytes).
    app.post('/auth/passkeys/*', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const match = /^([A-Za-z0-9_-]{1,1400})\/remove$/.exec((request.params as { '*': string })['*']);
      if (match === null) throw new HttpError('not-found', 'No such endpoint.', { status: 404 });
      const { token, session } = await changing(request);
      const { password } = body(request, { password: 'string' });
      const tenantId = tenantOf(request);
      const account = await accounts.reauthenticate({ tenantId, accountId: session.accountId, password: password as string, sourceIp: request.ip });
      await passkeys.remove({ tenantId, account, id: match[1] as string, sourceIp: request.ip });
      // A factor changed: every other session ends (OWASP ASVS 5 V7.4.3), this one goes on under a new token (V7.2.4).
      const ended = await sessions.revokeAll(tenantId, session.accountId, session.id);
      const fresh = await sessions.rotate(tenantId, token);
      if (fresh === undefined) throw noSession();
      setCookie(reply, fresh);
      return reply.status(200).send({ otherSessionsEnded: ended, csrfToken: sessions.csrfToken(fresh) });
    });

    app.post('/auth/second-factor/passkey/options', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { ticket } = body(request, { ticket: 'string' });
      const tenantId = tenantOf(request);
      // A disabled or unknown tenant answers like a bad ticket.
      if (!(await active(tenantId))) throw new IdentityError('second-factor-failed', 'This sign-in cannot continue with a passkey: sign in with the password again.', { status: 401, expose: true });
      return reply.status(200).send(await passkeys.loginOptions({ tenantId, ticket: ticket as string }));
    });
  };
}
