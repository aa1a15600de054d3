import type { FastifyRequest } from 'fastify';
import type { Tenants } from '../tenants/index.js';
import type { Accounts } from './accounts.js';
import type { ApiKeys } from './api-keys.js';
import { forbidden, IdentityError, unauthenticated } from './errors.js';
import { isStaff, parseRole, personRoles, type Principal } from './permissions.js';
import { operatorRealm } from './realm.js';
import type { Sessions } from './sessions.js';

/**
 * The session cookie: `__Host-` so it is only ever set by this origin over HTTPS for path `/`
 * (RFC 6265bis §4.1.3.2), `HttpOnly` so no script reads it, `SameSite=Strict` so no other site's
 * page sends it (OWASP ASVS 5 V3.3.x). No Max-Age: the server ends sessions (sessions.ts).
 */
export const sessionCookie = '__Host-tresor_session';

export function cookieToken(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === sessionCookie) return value.join('=') || undefined;
  }
  return undefined;
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export const csrfInvalid = () => new IdentityError('csrf-invalid', 'Send the X-CSRF-Token header you got at login.', { status: 403, expose: true });

export interface Authenticator {
  /**
   * Who calls a tenant endpoint, decided in one place for every surface (FHIR, audit, accounts):
   * an API key (`Authorization: Bearer`) bound to this tenant, or a person's live session (the
   * cookie) whose request carries the session's `X-CSRF-Token` on every state-changing method,
   * whose account is active, and who passed a second factor if the tenant's policy requires
   * one for their role (OWASP ASVS 5 V6.3.3). 401 without a valid credential, 403 otherwise.
   * The tenant must exist and be active.
   */
  principal(request: FastifyRequest, tenantId: string): Promise<Principal>;
  /**
   * A platform operator: a live session of the operators' realm (realm.ts) that passed a second
   * factor — always required, whatever any tenant's policy says — with the CSRF token on changes.
   */
  operator(request: FastifyRequest): Promise<OperatorPrincipal>;
}

export interface OperatorPrincipal {
  readonly kind: 'operator';
  readonly id: string;
  readonly sessionId: string;
}

export function createAuthenticator({ apiKeys, sessions, accounts, tenants }: { apiKeys: ApiKeys; sessions: Sessions; accounts: Accounts; tenants: Tenants }): Authenticator {
  /** The live session of the cookie, its CSRF token checked on state-changing methods. */
  async function liveSession(request: FastifyRequest, realm: string) {
    const token = cookieToken(request);
    if (token === undefined) throw unauthenticated();
    const session = await sessions.resolve(realm, token);
    if (session === undefined) throw unauthenticated();
    if (!safeMethods.has(request.method)) {
      const presented = request.headers['x-csrf-token'];
      if (!sessions.checkCsrf(token, typeof presented === 'string' ? presented : undefined)) throw csrfInvalid();
    }
    return session;
  }

  return {
    async operator(request) {
      const session = await liveSession(request, operatorRealm);
      const account = await accounts.access(operatorRealm, session.accountId);
      if (account === undefined || account.status !== 'active' || account.role !== 'operator') throw unauthenticated();
      if (!session.secondFactor) {
        throw new IdentityError('second-factor-required', 'Platform operators always sign in with a second factor: enrol one (TOTP at POST /platform/auth/totp, or a passkey at POST /platform/auth/passkeys/options), then continue.', { status: 403, expose: true });
      }
      return { kind: 'operator', id: account.id, sessionId: session.id };
    },
    async principal(request, tenantId) {
      const header = request.headers.authorization;
      if (header !== undefined) {
        const match = /^Bearer +(\S+)$/i.exec(header);
        if (match === null) throw unauthenticated();
        const principal = await apiKeys.authenticate(match[1] as string);
        // A key never crosses tenants.
        if (principal.tenantId !== tenantId) throw forbidden('This credential is not valid for this tenant.');
        await tenants.requireActive(tenantId);
        return principal;
      }
      if (cookieToken(request) === undefined) throw unauthenticated();
      // The tenant first: an unknown tenant has no data set to look the session up in.
      await tenants.requireActive(tenantId);
      const session = await liveSession(request, tenantId);
      const account = await accounts.access(tenantId, session.accountId);
      if (account === undefined || account.status !== 'active') throw unauthenticated();
      const role = parseRole(account.role, personRoles);
      const policy = await tenants.mfaPolicy(tenantId);
      if (!session.secondFactor && (policy === 'everyone' || (policy === 'staff' && isStaff(role)))) {
        throw new IdentityError('second-factor-required', 'This tenant requires a second factor for your role: enrol one (TOTP at POST /auth/totp, or a passkey at POST /auth/passkeys/options), then continue.', { status: 403, expose: true });
      }
      return {
        kind: 'person',
        id: account.id,
        tenantId,
        role,
        label: 'session',
        ...(account.patient === undefined ? {} : { patient: account.patient }),
        ...(account.practitioner === undefined ? {} : { practitioner: account.practitioner }),
        sessionId: session.id,
        secondFactor: session.secondFactor,
      };
    },
  };
}
