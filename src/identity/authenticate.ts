import type { FastifyRequest } from 'fastify';
import type { Actor, Audit } from '../audit/index.js';
import { tenantIdPattern, type Tenants } from '../tenants/index.js';
import type { Accounts } from './accounts.js';
import type { ApiKeys } from './api-keys.js';
import type { CredentialMethod, CredentialThrottle } from './credential-throttle.js';
import { forbidden, IdentityError, unauthenticated } from './errors.js';
import { isStaff, matrix, parseRole, personRoles, type Principal, type Role } from './permissions.js';
import { operatorRealm, operatorRoles, type OperatorRole } from './realm.js';
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

/**
 * The session's CSRF token as the request presents it: the `X-CSRF-Token` header (API calls), or
 * the `csrf` field of a page's form (application/x-www-form-urlencoded; a form cannot set
 * headers). Either way it is the synchronizer token of the session (OWASP CSRF Prevention Cheat
 * Sheet), which a cross-site page cannot read.
 */
export function presentedCsrf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const field = (request.body as Record<string, unknown> | null | undefined)?.['csrf'];
  return typeof field === 'string' ? field : undefined;
}

export const csrfInvalid = () => new IdentityError('csrf-invalid', 'Send the X-CSRF-Token header you got at login.', { status: 403, expose: true });

/**
 * Third-party apps' OAuth access tokens (the oauth module resolves them): who the token acts
 * for — a person, or a backend service's role — its scopes and launch patient. Undefined for a
 * token that is unknown, expired, revoked, of another tenant, or whose app or person is gone.
 */
export interface AppTokens {
  resolve(tenantId: string, token: string): Promise<{ clientId: string; accountId?: string; serviceRole?: Role; scope: string; patient?: string } | undefined>;
  /** Whether the patient (`Patient/<id>`) is still in the care of the practitioner (`Practitioner/<id>`). */
  inCare(tenantId: string, patient: string, practitioner: string): Promise<boolean>;
}

/** RFC 6750 §3.1: an access token that is not (or no longer) valid here. */
const invalidToken = () =>
  new IdentityError('unauthenticated', 'The access token is not valid here: unknown, expired, revoked, or issued for another tenant.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tresor", error="invalid_token"' },
  });

const apiKeyShape = /^tresor_sk_/;

export interface Authenticator {
  /**
   * Who calls a tenant endpoint, decided in one place for every surface (FHIR, audit, accounts):
   * an API key (`Authorization: Bearer`) bound to this tenant, or a person's live session (the
   * cookie) whose request carries the session's `X-CSRF-Token` on every state-changing method,
   * whose account is active, and who passed a second factor if the tenant's policy requires
   * one for their role (OWASP ASVS 5 V6.3.3). 401 without a valid credential, 403 otherwise.
   * The tenant must exist and be active. With `appTokens` (the FHIR API only), a third-party
   * app's OAuth access token is accepted too; everywhere else it is refused (least privilege).
   */
  principal(request: FastifyRequest, tenantId: string, options?: { readonly appTokens?: boolean }): Promise<Principal>;
  /**
   * A platform operator: a live session of the operators' realm (realm.ts) that passed a second
   * factor — always required, whatever any tenant's policy says — with the CSRF token on changes.
   */
  operator(request: FastifyRequest, role?: OperatorRole): Promise<OperatorPrincipal>;
}

export interface OperatorPrincipal {
  readonly kind: 'operator';
  readonly id: string;
  readonly role: OperatorRole;
  readonly sessionId: string;
}

const otherTenant = () => forbidden('This credential is not valid for this tenant.');

/** The tenant a session token or an access token says it belongs to (sessions.ts, oauth/provider.ts): a hint to check there, never trusted. */
function credentialHome(token: string): string | undefined {
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(0, dot) : undefined;
}

export function createAuthenticator({
  apiKeys,
  sessions,
  accounts,
  tenants,
  audit,
  appTokens,
  throttle,
}: {
  apiKeys: ApiKeys;
  sessions: Sessions;
  accounts: Accounts;
  tenants: Tenants;
  audit: Pick<Audit, 'record'>;
  appTokens?: AppTokens;
  throttle?: CredentialThrottle;
}): Authenticator {
  /**
   * A bearer credential that did not authenticate is recorded in the trail of the tenant the
   * request names (when it is one: detection watches for bursts; OWASP ASVS 5 V16.3.1 — the
   * method and the address, never what was presented), counts against its source address (429
   * once over budget), then fails as it would have. The throttle bounds what one address can
   * write: past its budget, refusals are counted in /metrics only.
   */
  async function counted<T>(request: FastifyRequest, tenantId: string, method: CredentialMethod, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof IdentityError && error.code === 'unauthenticated') {
        if (tenantIdPattern.test(tenantId) && (await tenants.requireActive(tenantId).then(() => true, () => false))) {
          await audit.record(tenantId, [
            { action: 'auth.credential_failed', outcome: 'failure', status: 401, actor: { id: 'anonymous', role: 'none', client: '' }, purpose: 'HOPERAT', resources: [], subjects: [], classes: [], requestId: request.id, sourceIp: request.ip, detail: method },
          ]);
        }
        await throttle?.failed(request.ip, method);
      }
      throw error;
    }
  }

  /**
   * A valid credential of `home` used at another tenant: an `access.denied` event in the home
   * tenant's trail (its reviewers and detection watch it; the target tenant's trail would name
   * someone it does not know), with the target path but never the query, which can carry search
   * values (OWASP ASVS 5 V16.3.2: failed authorization is logged).
   */
  async function recordCrossing(request: FastifyRequest, home: string, target: string, actor: Actor): Promise<void> {
    await audit.record(home, [
      {
        action: 'access.denied',
        outcome: 'failure',
        status: 403,
        actor,
        purpose: 'HOPERAT',
        resources: [],
        subjects: [],
        classes: [],
        requestId: request.id,
        sourceIp: request.ip,
        detail: `other-tenant ${target} ${request.method} ${request.url.split('?')[0] ?? ''}`,
      },
    ]);
  }

  /**
   * An access token refused here: if it is live at the tenant it names, that tenant's trail
   * records the attempt. The answer stays `401 invalid_token` (RFC 6750 §3.1: not valid for this
   * resource).
   */
  async function checkForeignToken(request: FastifyRequest, bearer: string, tenantId: string): Promise<void> {
    const home = credentialHome(bearer);
    if (appTokens === undefined || home === undefined || home === tenantId || !tenantIdPattern.test(home) || (await tenants.get(home))?.status !== 'active') return;
    const token = await appTokens.resolve(home, bearer);
    if (token === undefined) return;
    const account = token.accountId === undefined ? undefined : await accounts.access(home, token.accountId);
    if (token.accountId !== undefined && account === undefined) return;
    const actor: Actor =
      account === undefined
        ? { id: `client:${token.clientId}`, role: token.serviceRole ?? 'app', client: `oauth:${token.clientId}` }
        : { id: `account:${account.id}`, role: account.role, client: `oauth:${token.clientId}` };
    await recordCrossing(request, home, tenantId, actor);
  }

  /**
   * A session cookie refused here: if it is a live session of the tenant it names, that tenant's
   * trail records the attempt. The answer stays 401: a session is nothing at another tenant.
   */
  async function checkForeignSession(request: FastifyRequest, token: string, tenantId: string): Promise<void> {
    const home = credentialHome(token);
    if (home === undefined || home === tenantId || home === operatorRealm || !tenantIdPattern.test(home) || (await tenants.get(home)) === undefined) return;
    const session = await sessions.resolve(home, token);
    if (session === undefined) return;
    const account = await accounts.access(home, session.accountId);
    if (account === undefined || account.status !== 'active') return;
    await recordCrossing(request, home, tenantId, { id: `account:${account.id}`, role: account.role, client: 'session' });
  }

  /** The live session of the cookie, its CSRF token checked on state-changing methods. */
  async function liveSession(request: FastifyRequest, realm: string) {
    const token = cookieToken(request);
    if (token === undefined) throw unauthenticated();
    const session = await sessions.resolve(realm, token);
    if (session === undefined) throw unauthenticated();
    if (!safeMethods.has(request.method) && !sessions.checkCsrf(token, presentedCsrf(request))) throw csrfInvalid();
    return session;
  }

  /** An app's token: the person's current role (it caps the token) or the backend service's role, narrowed by the token's scopes. */
  async function appPrincipal(tenantId: string, bearer: string): Promise<Principal> {
    const token = await (appTokens as AppTokens).resolve(tenantId, bearer);
    if (token === undefined) throw invalidToken();
    const smart = { scope: token.scope, ...(token.patient === undefined ? {} : { patient: token.patient }) };
    if (token.accountId === undefined) {
      if (token.serviceRole === undefined) throw invalidToken();
      return { kind: 'service-account', id: `client:${token.clientId}`, tenantId, role: token.serviceRole, label: `oauth:${token.clientId}`, client: token.clientId, smart };
    }
    const account = await accounts.access(tenantId, token.accountId);
    if (account === undefined || account.status !== 'active' || (operatorRoles as readonly string[]).includes(account.role)) throw invalidToken();
    const role = parseRole(account.role, personRoles);
    // A care-scoped person's token bound to a patient lives only while that patient is in their care (the role caps the token for its whole life).
    if (token.patient !== undefined && matrix[role].scope === 'care' && (account.practitioner === undefined || !(await (appTokens as AppTokens).inCare(tenantId, token.patient, account.practitioner)))) throw invalidToken();
    return {
      kind: 'person',
      id: account.id,
      tenantId,
      role,
      label: 'oauth',
      client: token.clientId,
      smart,
      ...(account.patient === undefined ? {} : { patient: account.patient }),
      ...(account.practitioner === undefined ? {} : { practitioner: account.practitioner }),
    };
  }

  return {
    async operator(request, role = 'operator') {
      const session = await liveSession(request, operatorRealm);
      const account = await accounts.access(operatorRealm, session.accountId);
      if (account === undefined || account.status !== 'active' || !(operatorRoles as readonly string[]).includes(account.role)) throw unauthenticated();
      if (!session.secondFactor) {
        throw new IdentityError('second-factor-required', 'Platform operators always sign in with a second factor: enrol one (TOTP at POST /platform/auth/totp, or a passkey at POST /platform/auth/passkeys/options), then continue.', { status: 403, expose: true });
      }
      // Each operator role reaches its own endpoints only (realm.ts).
      if (account.role !== role) throw new IdentityError('forbidden', `This needs the ${role} role.`, { status: 403, expose: true });
      return { kind: 'operator', id: account.id, sessionId: session.id, role };
    },
    async principal(request, tenantId, options = {}) {
      const header = request.headers.authorization;
      if (header !== undefined) {
        const match = /^Bearer +(\S+)$/i.exec(header);
        if (match === null) throw unauthenticated();
        const bearer = match[1] as string;
        const method: CredentialMethod = apiKeyShape.test(bearer) ? 'api_key' : 'access_token';
        throttle?.check(request.ip, method);
        if (method === 'access_token') {
          if (options.appTokens !== true || appTokens === undefined) return counted(request, tenantId, method, () => Promise.reject(unauthenticated()));
          await tenants.requireActive(tenantId);
          return counted(request, tenantId, method, () =>
            appPrincipal(tenantId, bearer).catch(async (error: unknown) => {
              await checkForeignToken(request, bearer, tenantId);
              throw error;
            }),
          );
        }
        const principal = await counted(request, tenantId, method, () => apiKeys.authenticate(bearer));
        // A key never crosses tenants.
        if (principal.tenantId !== tenantId) {
          await recordCrossing(request, principal.tenantId, tenantId, { id: principal.id, role: principal.role, client: principal.label });
          throw otherTenant();
        }
        await tenants.requireActive(tenantId);
        return principal;
      }
      const token = cookieToken(request);
      if (token === undefined) throw unauthenticated();
      // The tenant first: an unknown tenant has no data set to look the session up in.
      await tenants.requireActive(tenantId);
      const session = await liveSession(request, tenantId).catch(async (error: unknown) => {
        await checkForeignSession(request, token, tenantId);
        throw error;
      });
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
