import type { FastifyRequest } from 'fastify';
import type { MfaPolicy, Tenants } from '../tenants/index.js';
import type { Accounts } from './accounts.js';
import { cookieToken, csrfInvalid } from './authenticate.js';
import { IdentityError } from './errors.js';
import { operatorRealm } from './realm.js';
import type { SessionInfo, Sessions } from './sessions.js';

/**
 * Whose sign-in a request is: a tenant's (the tenant in the path) or the platform operators'.
 * The sign-in and passkey routes are the same code for both; only this differs.
 */
export interface SignInRealm {
  readonly kind: 'tenant' | 'operators';
  of(request: FastifyRequest): string;
  /** An unknown or disabled tenant answers like a wrong password (no enumeration). */
  active(id: string): Promise<boolean>;
  /** Who must have passed a second factor: the tenant's policy; operators always. */
  mfaPolicy(id: string): Promise<MfaPolicy>;
}

export function tenantRealm(tenants: Tenants): SignInRealm {
  return {
    kind: 'tenant',
    of: (request) => (request.params as { tenant: string }).tenant,
    active: async (id) => (await tenants.get(id))?.status === 'active',
    mfaPolicy: (id) => tenants.mfaPolicy(id),
  };
}

export const platformRealm: SignInRealm = {
  kind: 'operators',
  of: () => operatorRealm,
  active: async () => true,
  mfaPolicy: async () => 'everyone',
};

export const noSession = () => new IdentityError('unauthenticated', 'Sign in first: there is no live session.', { status: 401, expose: true });

/**
 * The `/auth` endpoints' view of the caller: the live session of the cookie, in this realm, of
 * an active account (disabling ends an account's sessions; one that a login in flight made at
 * that moment ends here), and — for changes — the session's CSRF token (OWASP CSRF Prevention
 * Cheat Sheet, synchronizer token).
 */
export function realmSessions({ realm, sessions, accounts }: { realm: SignInRealm; sessions: Sessions; accounts: Accounts }) {
  async function current(request: FastifyRequest): Promise<{ token: string; session: SessionInfo }> {
    const token = cookieToken(request);
    const id = realm.of(request);
    if (token === undefined || !(await realm.active(id))) throw noSession();
    const session = await sessions.resolve(id, token);
    if (session === undefined || (await accounts.access(id, session.accountId))?.status !== 'active') throw noSession();
    return { token, session };
  }
  async function changing(request: FastifyRequest): Promise<{ token: string; session: SessionInfo }> {
    const live = await current(request);
    const presented = request.headers['x-csrf-token'];
    if (!sessions.checkCsrf(live.token, typeof presented === 'string' ? presented : undefined)) throw csrfInvalid();
    return live;
  }
  return { current, changing };
}
