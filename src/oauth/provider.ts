import { generateKeyPair, hkdfSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type * as OidcProvider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { operatorEvent, type Audit, type AuditEventInput } from '../audit/index.js';
import { OAuthError } from './errors.js';
import { operatorRoles, type Accounts } from '../identity/index.js';
import type { Keys, SigningKeyVersion } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import { createAdapterClass, findBearerToken } from './adapter.js';
import { compareSecret, type Clients } from './clients.js';
import type { Consents } from './consents.js';
import { oauthErrorPage } from './pages.js';
import { negotiateLocale } from '../platform/pages/index.js';
import { allResourceScopeStrings, allowedScopes, parseResourceScope } from './scopes.js';

/**
 * The authorization server: oidc-provider 8 (OpenID Certified), one issuer per tenant at
 * `<public URL>/tenants/<t>/oauth`. Why per tenant, not one issuer with a tenant claim: a
 * tenant's clients, grants, tokens and signing keys live in the tenant's own data set, so a
 * token of tenant A is unknown at tenant B by construction (no claim to forget to check), a
 * tenant's backup or erasure takes its OAuth state along, and discovery is plain OIDC Discovery
 * (`<issuer>/.well-known/openid-configuration`) that every client library understands.
 *
 * Choices (each a security default of RFC 9700, the OAuth 2.0 Security BCP):
 * - authorization code only, PKCE S256 required of every client (plain refused);
 * - no dynamic registration: tenant admins register apps (clients.ts);
 * - access tokens opaque and short-lived (default 10 min), looked up on every use so revocation
 *   is immediate; refresh tokens rotated on every use, and a spent one presented again revokes
 *   the whole grant (oidc-provider's reuse detection) and raises `token.reuse_detected`;
 * - one resource server per tenant, its FHIR base, with SMART v2 scopes (scopes.ts);
 * - ID tokens signed RS256/PS256 with an RSA-3072 key from the key store (rotatable; the
 *   previous key stays published for `signingKeyRetainDays`); HS* (secret-derived) algorithms off;
 * - client secrets stored as SHA-256 and compared in constant time (compareSecret).
 */
export interface OAuthSettings {
  /** Scheme, host and port clients reach Tresor at (issuer and FHIR base derive from it). */
  readonly baseUrl: string;
  readonly accessTokenMinutes: number;
  readonly refreshTokenIdleDays: number;
  readonly grantDays: number;
  readonly signingKeyRetainDays: number;
  /** The OP's single sign-on session (minutes without use). */
  readonly sessionMinutes: number;
  /** Trust X-Forwarded-Proto/Host (server.trustProxy). */
  readonly proxy: boolean;
  /**
   * Whether `baseUrl` is the configured `server.publicUrl`: then every URL the provider gives out
   * (discovery, redirects) is built from it, never from the request's Host or X-Forwarded-Host,
   * which a client chooses. Without it (development), URLs follow the request.
   */
  readonly baseUrlConfigured: boolean;
  /**
   * Development without a public URL: FHIR links follow the request (`https://127.0.0.1:<port>/…`),
   * so SMART's `aud` may name this server by any of its loopback addresses on the port the
   * request arrived at. Never in production, which has a public URL.
   */
  readonly loopbackAudiences: boolean;
}

export interface OAuthDeps {
  readonly storage: Storage;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly accounts: Accounts;
  readonly clients: Clients;
  readonly consents: Consents;
  readonly settings: OAuthSettings;
}

/** What an access token presented at the FHIR API stands for. */
export interface TokenGrant {
  readonly clientId: string;
  /** The person the token acts for; absent for client credentials (a backend service). */
  readonly accountId?: string;
  readonly scope: string;
  readonly grantId?: string;
  /** SMART launch context (`Patient/<id>`). */
  readonly patient?: string;
  /** The app, as registered now: undefined when it is gone. */
  readonly app?: { readonly kind: string; readonly role: string | null; readonly active: boolean };
}

export interface OAuthServer {
  issuer(tenantId: string): string;
  fhirBase(tenantId: string): string;
  providerFor(tenantId: string): Promise<Provider>;
  /** Hands a request under `/tenants/<t>/oauth` to the tenant's provider (`mountPath` stripped). */
  handle(tenantId: string, req: IncomingMessage, res: ServerResponse, hooks?: { readonly onInvalidClient?: () => Promise<void> }): Promise<void>;
  /** An access token of this tenant's issuer, if it is live; undefined otherwise (unknown, expired, revoked, other tenant). */
  resolveToken(tenantId: string, token: string): Promise<TokenGrant | undefined>;
  /**
   * A person withdraws one of their consents: the Grant and every token issued under it end at
   * once, and `consent.revoked` is recorded. Someone else's consent, or one already withdrawn, is
   * as unknown as a missing one (404 consent-not-found).
   */
  withdrawConsent(tenantId: string, grantId: string, by: { accountId: string; role: string }, context: { sourceIp: string; requestId: string; status: number }): Promise<void>;
  /**
   * A person withdraws an app: every live consent of theirs for it, each as `withdrawConsent`
   * does (the app may hold several, one per authorisation). None is 404 consent-not-found.
   */
  withdrawApp(tenantId: string, clientId: string, by: { accountId: string; role: string }, context: { sourceIp: string; requestId: string; status: number }): Promise<number>;
  /** A new ID token signing key; the previous one stays published for `signingKeyRetainDays`. */
  rotateSigningKey(tenantId: string): Promise<number>;
  /** Drops the tenant's authorization server and its unwrapped signing keys (its data set closed); the next request builds it again. */
  forgetTenant(tenantId: string): void;
}

// oidc-provider (with koa, jose and got) takes a quarter of a second to load: only a process that
// answers OAuth requests or manages a tenant's authorization server pays for it, once.
let oidcProvider: Promise<typeof OidcProvider> | undefined;
const loadOidcProvider = () => (oidcProvider ??= import('oidc-provider'));

const signingPurpose = (tenantId: string) => `oauth|${tenantId}`;

/** RSA-3072 (NIST SP 800-57 Part 1 Rev. 5: 128-bit security, beyond 2030); RS256 is what every OIDC client verifies. */
const newSigningKey = (): Promise<KeyObject> =>
  new Promise((resolve, reject) => generateKeyPair('rsa', { modulusLength: 3072 }, (error, _publicKey, privateKey) => (error ? reject(error) : resolve(privateKey))));

/** Which key versions are published: the newest, and older ones whose successor is younger than the retention. */
export function publishedKeys(versions: readonly SigningKeyVersion[], now: number, retainDays: number): SigningKeyVersion[] {
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  return sorted.filter((_v, i) => i === 0 || now - (sorted[i - 1] as SigningKeyVersion).createdAt < retainDays * 86_400_000);
}

/**
 * oidc-provider builds its endpoint URLs (discovery's `token_endpoint`, `jwks_uri`, …) from the
 * request's origin, which Koa takes from the Host header (X-Forwarded-Host behind a trusted
 * proxy): a forged header would send clients' credentials elsewhere. With a configured public
 * URL the origin is that URL's, whatever the request says (OWASP ASVS 5 V4.1.3, host header
 * injection).
 */
function pinOrigin(origin: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    Object.defineProperty(ctx.request, 'origin', { value: origin });
    await next();
  };
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether `value` is `path` on this server as reached over loopback: its scheme, a loopback host and the port the request came in on. */
function isOwnLoopbackBase(ctx: KoaContextWithOIDC, value: string, path: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const socket = ctx.req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
  const scheme = socket.encrypted === true ? 'https:' : 'http:';
  return (
    url.protocol === scheme &&
    loopbackHosts.has(url.hostname) &&
    url.port === String(socket.localPort) &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    url.pathname.replace(/\/$/, '') === path
  );
}

type Ctx = KoaContextWithOIDC & { tresorGrantError?: { error_detail?: string } };

export function createOAuthServer(deps: OAuthDeps): OAuthServer {
  const invalidClientHooks = new WeakMap<IncomingMessage, () => Promise<void>>();
  const { storage, keys, clock, audit, accounts, clients, consents, settings } = deps;
  const base = settings.baseUrl.replace(/\/$/, '');
  const publicOrigin = settings.baseUrlConfigured ? new URL(base) : undefined;
  // A public URL with a path (`https://host/vault`): a proxy in front strips it before Tresor sees the request.
  const publicPath = publicOrigin === undefined ? '' : publicOrigin.pathname.replace(/\/$/, '');
  const issuer = (tenantId: string) => `${base}/tenants/${tenantId}/oauth`;
  const fhirBase = (tenantId: string) => `${base}/tenants/${tenantId}/fhir`;
  const cache = new Map<string, { built: Promise<{ provider: Provider; callback: ReturnType<Provider['callback']>; newest: number }>; checkedAt: number }>();
  const scopeCache = new Map<string, string>();

  /** The resource scopes a client's registration allows, as oidc-provider's resource server scope list. */
  function resourceScopesFor(registered: string): string {
    let found = scopeCache.get(registered);
    if (found === undefined) {
      found = allowedScopes(allResourceScopeStrings(), registered).granted.join(' ');
      if (scopeCache.size > 1000) scopeCache.clear();
      scopeCache.set(registered, found);
    }
    return found;
  }

  async function build(tenantId: string) {
    const { default: Provider, errors } = await loadOidcProvider();
    const versions = await keys.signingKeys(signingPurpose(tenantId), newSigningKey);
    const published = publishedKeys(versions, clock.now().getTime(), settings.signingKeyRetainDays);
    // Newest first: oidc-provider signs with the first key that fits the algorithm.
    const jwks = { keys: published.map((v) => ({ ...(v.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: `${tenantId}.${v.version}`, use: 'sig' })) };
    // Cookie signing keys derived from the tenant's index key (HKDF, NIST SP 800-56C): independent of it, never stored.
    const cookieKey = Buffer.from(hkdfSync('sha256', await keys.indexKey(tenantId), Buffer.alloc(0), 'tresor oauth cookies', 32)).toString('base64url');
    const mountPath = `/tenants/${tenantId}/oauth`;
    const resource = fhirBase(tenantId);
    const accessTokenTTL = settings.accessTokenMinutes * 60;
    const statics = new Set<string>(['openid', 'offline_access', 'fhirUser', 'launch/patient']);

    const configuration: Configuration = {
      adapter: createAdapterClass({ db: () => storage.tenant(tenantId), now: () => clock.now().getTime(), findClient: (clientId) => clients.metadata(tenantId, clientId) }),
      clients: [],
      jwks: jwks as Configuration['jwks'],
      cookies: {
        keys: [cookieKey],
        // Scoped to this tenant's issuer; Lax, not None: no cross-site embedding of the login.
        long: { httpOnly: true, sameSite: 'lax', path: `${publicPath}${mountPath}` },
        short: { httpOnly: true, sameSite: 'lax', path: `${publicPath}${mountPath}` },
      },
      async findAccount(_ctx, sub) {
        const account = await accounts.access(tenantId, sub);
        if (account === undefined || account.status !== 'active' || (operatorRoles as readonly string[]).includes(account.role)) return undefined;
        const fhirUser = account.patient ?? account.practitioner;
        return {
          accountId: sub,
          claims: async () => ({ sub, ...(fhirUser === undefined ? {} : { fhirUser: `${resource}/${fhirUser}` }) }),
        };
      },
      claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
      // The SMART launch patient rides in the token itself (and its introspection), so the FHIR API needs no second lookup.
      async extraTokenClaims(_ctx, token) {
        const grantId = (token as { grantId?: string }).grantId;
        const consent = grantId === undefined ? undefined : await consents.get(tenantId, grantId);
        return consent?.patient === undefined ? undefined : { patient: consent.patient };
      },
      scopes: [...statics],
      // SMART's `aud` names the FHIR server the app wants (SMART App Launch: authorization request); `launch` is EHR launch (not offered).
      extraParams: {
        async aud(ctx, value) {
          if (value !== undefined && value.replace(/\/$/, '') !== resource && !(settings.loopbackAudiences && isOwnLoopbackBase(ctx, value, `/tenants/${tenantId}/fhir`))) {
            throw new errors.InvalidRequest('aud is not this FHIR server');
          }
        },
      },
      interactions: { url: async (_ctx, interaction) => `${publicPath}${mountPath}/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // RFC 7662 §4: a token's claims are its own client's business; any other client learns only `active: false`.
        introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
        // Revocation needs no policy: oidc-provider refuses another client's token (RFC 7009 §2.1).
        revocation: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx, _client, oneOf) => oneOf ?? resource,
          useGrantedResource: async () => true,
          async getResourceServerInfo(ctx, indicator, client) {
            if (indicator.replace(/\/$/, '') !== resource) throw new errors.InvalidTarget('the only resource here is this tenant’s FHIR API');
            // Refuse, rather than silently drop, what the app is not registered for (or that is not a scope at all).
            const requested = (ctx.oidc.params?.['scope'] as string | undefined) ?? '';
            const unknown = requested.split(' ').filter((s) => s !== '' && !statics.has(s) && parseResourceScope(s) === undefined);
            const registered = String(client['urn:tresor:scope'] ?? '');
            const { refused } = allowedScopes(requested.split(' ').filter((s) => parseResourceScope(s) !== undefined).join(' '), registered);
            if (unknown.length + refused.length > 0) throw new errors.InvalidScope('requested scope is not allowed', [...unknown, ...refused].join(' '));
            return { scope: resourceScopesFor(registered), audience: resource, accessTokenTTL, accessTokenFormat: 'opaque' };
          },
        },
      },
      pkce: { required: () => true, methods: ['S256'] },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      enabledJWA: {
        clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        idTokenSigningAlgValues: ['RS256', 'PS256'],
        userinfoSigningAlgValues: ['RS256', 'PS256'],
        introspectionSigningAlgValues: ['RS256', 'PS256'],
        authorizationSigningAlgValues: ['RS256', 'PS256'],
      },
      extraClientMetadata: { properties: ['urn:tresor:publisher', 'urn:tresor:role', 'urn:tresor:scope'] },
      // SPA clients: CORS only from the origins of their own redirect URIs.
      clientBasedCORS: (_ctx, origin, client) => (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin),
      rotateRefreshToken: () => true,
      ttl: {
        AccessToken: accessTokenTTL,
        ClientCredentials: accessTokenTTL,
        AuthorizationCode: 60,
        IdToken: accessTokenTTL,
        Interaction: 10 * 60,
        Session: settings.sessionMinutes * 60,
        Grant: settings.grantDays * 86_400,
        RefreshToken: settings.refreshTokenIdleDays * 86_400,
      },
      async renderError(ctx, out) {
        ctx.type = 'html';
        // The pages' own layout (no inline style or web font, which the CSP forbids), naming the OAuth error.
        const error = `${String(out['error'] ?? 'error')}${out['error_description'] === undefined ? '' : `: ${String(out['error_description'])}`}`;
        ctx.body = oauthErrorPage({ locale: negotiateLocale(ctx.get('accept-language') || undefined), path: '/' }, error).text;
      },
      discovery: { service_documentation: `${base}/tenants/${tenantId}/fhir/metadata` },
    };

    const provider = new Provider(issuer(tenantId), configuration);
    provider.proxy = settings.proxy;
    // Client secrets are stored hashed: the comparison hashes what is presented (clients.ts).
    (provider.Client.prototype as unknown as { compareClientSecret(actual: string): boolean }).compareClientSecret = function compare(this: { clientSecret?: string }, actual: string) {
      return compareSecret(this.clientSecret, actual);
    };

    // Access tokens name their tenant before oidc-provider's random id (`<tenant>.<id>`): presented
    // at another tenant, the token is looked up at its home alone and the attempt recorded there
    // (identity/authenticate.ts). The name is a hint; the random part decides.
    for (const model of [provider.AccessToken, provider.ClientCredentials] as unknown as Array<{ prototype: { generateTokenId(): string } }>) {
      const randomId = model.prototype.generateTokenId;
      model.prototype.generateTokenId = function tenantTokenId(this: unknown) {
        return `${tenantId}.${randomId.call(this)}`;
      };
    }

    // Reuse of a spent refresh token or authorization code: oidc-provider has revoked the grant; we record why.
    provider.on('grant.error', (ctx: Ctx, error: { error_detail?: string }) => {
      ctx.tresorGrantError = error;
    });

    if (publicOrigin !== undefined) provider.use(pinOrigin(publicOrigin.origin));

    provider.use(async (ctx: Ctx, next) => {
      // OIDC Core §11 grants offline_access only with prompt=consent; SMART apps ask for it
      // without. Long-lived access is worth asking about each time: we add the prompt.
      if (ctx.method === 'GET' && ctx.path === '/auth' && String(ctx.query['scope'] ?? '').split(' ').includes('offline_access') && ctx.query['prompt'] === undefined) {
        ctx.query = { ...ctx.query, prompt: 'consent' };
        // Setting the query rewrites the URL: oidc-provider finds its mount path by comparing it with the original.
        (ctx.req as IncomingMessage & { originalUrl?: string }).originalUrl = `${publicPath}${mountPath}${ctx.url}`;
      }
      await next();
      const route = ctx.oidc?.route;
      // A wrong client credential (invalid_client, RFC 6749 §5.2) counts before the answer leaves; past the address's budget it becomes a 429.
      const onInvalidClient = invalidClientHooks.get(ctx.req);
      if (ctx.status === 401 && (route === 'token' || route === 'introspection' || route === 'revocation') && (ctx.body as { error?: unknown } | undefined)?.error === 'invalid_client') {
        // Recorded in the tenant's trail for detection (OWASP ASVS 5 V16.3.1): the client it
        // claimed to be when that client exists, the address; never the secret presented.
        await record(tenantId, ctx, { action: 'auth.credential_failed', outcome: 'failure', actor: clientActor(ctx), status: 401, detail: 'client_secret', purpose: 'HOPERAT' });
      }
      if (onInvalidClient !== undefined && ctx.status === 401 && (route === 'token' || route === 'introspection' || route === 'revocation')) {
        try {
          await onInvalidClient();
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          ctx.status = error.status;
          for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
          // RFC 6749 §5.2 has no throttling error; `temporarily_unavailable` is what OAuth clients retry on.
          ctx.body = { error: 'temporarily_unavailable', error_description: error.message };
        }
      }
      if (route === 'token') await afterToken(tenantId, ctx);
      else if (route === 'revocation' && ctx.status === 200) {
        await record(tenantId, ctx, { action: 'token.revoked', actor: clientActor(ctx), status: 200, detail: `hint ${String(ctx.oidc.params?.['token_type_hint'] ?? 'none')}` });
      }
    });

    return { provider, callback: provider.callback(), newest: versions[0]?.version ?? 0 };
  }

  function clientActor(ctx: KoaContextWithOIDC) {
    const client = ctx.oidc.client;
    return { id: client === undefined ? 'anonymous' : `client:${client.clientId}`, role: String(client?.['urn:tresor:role'] ?? 'app'), client: client === undefined ? '' : `oauth:${client.clientId}` };
  }

  async function record(tenantId: string, ctx: KoaContextWithOIDC, e: Pick<AuditEventInput, 'action' | 'actor' | 'status' | 'detail'> & Partial<Pick<AuditEventInput, 'purpose'>> & { outcome?: 'success' | 'failure'; subjects?: string[] }): Promise<void> {
    await audit.record(tenantId, [
      {
        action: e.action,
        outcome: e.outcome ?? 'success',
        status: e.status,
        actor: e.actor,
        purpose: e.purpose ?? 'TREAT',
        resources: [],
        subjects: e.subjects ?? [],
        classes: [],
        // The id routes.ts gave this request (on the response), not a header the client chose.
        requestId: String(ctx.response.get('x-request-id') || ''),
        sourceIp: ctx.ip,
        detail: e.detail,
      },
    ]);
  }

  /** Token endpoint outcomes as audit events, durable before the token leaves (fail closed), and SMART's launch context. */
  async function afterToken(tenantId: string, ctx: Ctx): Promise<void> {
    const body = ctx.body as Record<string, unknown> | undefined;
    const grantType = String(ctx.oidc.params?.['grant_type'] ?? '');
    const entities = ctx.oidc.entities;
    if (ctx.status === 200 && body !== undefined && typeof body['access_token'] === 'string') {
      const token = entities.AccessToken ?? entities.ClientCredentials;
      const grantId = (entities.AccessToken as { grantId?: string } | undefined)?.grantId;
      const accountId = entities.Account?.accountId;
      const consent = grantId === undefined ? undefined : await consents.get(tenantId, grantId);
      if (consent?.patient !== undefined && body['patient'] === undefined) body['patient'] = consent.patient.replace(/^Patient\//, '');
      const scope = grantedScope(ctx, grantType, body['scope']);
      if (scope !== undefined) body['scope'] = scope;
      const role = accountId === undefined ? undefined : (await accounts.access(tenantId, accountId))?.role;
      const actor = accountId === undefined ? clientActor(ctx) : { id: `account:${accountId}`, role: role ?? 'unknown', client: `oauth:${ctx.oidc.client?.clientId ?? ''}` };
      try {
        await record(tenantId, ctx, {
          action: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
          actor,
          status: 200,
          detail: `${grantType}; scope ${String((token as { scope?: string } | undefined)?.scope ?? '')}${grantId === undefined ? '' : `; grant ${grantId}`}`,
          ...(consent?.patient === undefined ? {} : { subjects: [consent.patient] }),
        });
      } catch {
        // Fail closed: no token is handed out that the audit trail does not know about.
        await token?.destroy();
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable', error_description: 'The audit trail is unavailable; try again shortly.' };
      }
      return;
    }
    if (ctx.tresorGrantError?.error_detail === 'refresh token already used') {
      const spent = entities.RefreshToken as { grantId?: string; accountId?: string } | undefined;
      if (spent?.grantId !== undefined) await consents.markRevoked(tenantId, spent.grantId);
      await record(tenantId, ctx, {
        action: 'token.reuse_detected',
        outcome: 'failure',
        actor: spent?.accountId === undefined ? clientActor(ctx) : { id: `account:${spent.accountId}`, role: 'unknown', client: `oauth:${ctx.oidc.client?.clientId ?? ''}` },
        status: 400,
        detail: `a spent refresh token was presented again: grant ${spent?.grantId ?? 'unknown'} and all its tokens revoked`,
      });
    }
    // A replayed authorization code (RFC 6749 §4.1.2, RFC 9700 §4.2.4): oidc-provider revoked
    // every token issued with it. The code's grant is gone by now, so the event names the app.
    if (ctx.tresorGrantError?.error_detail === 'authorization code already consumed') {
      await record(tenantId, ctx, {
        action: 'token.reuse_detected',
        outcome: 'failure',
        actor: clientActor(ctx),
        status: 400,
        detail: 'a spent authorization code was presented again: its grant and all its tokens revoked',
      });
    }
  }

  /**
   * oidc-provider answers `scope` with the access token's scope, which under resource indicators
   * holds only the resource (SMART) scopes. SMART App Launch 2 (access token response) wants
   * every scope granted: `openid`, `fhirUser`, `launch/patient`, `offline_access` too —
   * fhirclient will not refresh without `offline_access` in it. These are the ones this exchange
   * asked for (the code's, or the refresh request's) that the grant holds.
   */
  function grantedScope(ctx: Ctx, grantType: string, resourceScope: unknown): string | undefined {
    const { entities } = ctx.oidc;
    const asked =
      grantType === 'authorization_code'
        ? entities.AuthorizationCode?.scopes
        : grantType === 'refresh_token'
          ? ctx.oidc.params?.['scope'] === undefined
            ? (entities.RotatedRefreshToken ?? entities.RefreshToken)?.scopes
            : ctx.oidc.requestParamScopes
          : undefined;
    if (asked === undefined || entities.Grant === undefined) return undefined;
    const oidcScopes = entities.Grant.getOIDCScopeFiltered(asked).split(' ');
    return [...new Set([...oidcScopes, ...String(resourceScope ?? '').split(' ')])].filter((s) => s !== '').join(' ');
  }

  async function entry(tenantId: string) {
    const now = clock.now().getTime();
    let found = cache.get(tenantId);
    if (found !== undefined && now - found.checkedAt > 60_000) {
      // Another process (the CLI) may have rotated the signing key: rebuild when a newer one exists.
      found.checkedAt = now;
      const current = found;
      const newest = (await keys.signingKeys(signingPurpose(tenantId), newSigningKey))[0]?.version ?? 0;
      if (newest !== (await current.built).newest && cache.get(tenantId) === current) cache.delete(tenantId);
      found = cache.get(tenantId);
    }
    if (found === undefined) {
      found = { built: build(tenantId), checkedAt: now };
      found.built.catch(() => cache.delete(tenantId));
      cache.set(tenantId, found);
    }
    return found.built;
  }

  return {
    forgetTenant(tenantId) {
      cache.delete(tenantId);
    },
    issuer,
    fhirBase,
    async providerFor(tenantId) {
      return (await entry(tenantId)).provider;
    },
    async handle(tenantId, req, res, hooks = {}) {
      if (hooks.onInvalidClient !== undefined) invalidClientHooks.set(req, hooks.onInvalidClient);
      const { callback } = await entry(tenantId);
      const mountPath = `/tenants/${tenantId}/oauth`;
      const url = req.url ?? '/';
      // oidc-provider finds its mount path (the prefix of its endpoint URLs) in originalUrl.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = `${publicPath}${url}`;
      req.url = url.slice(mountPath.length) || '/';
      await callback(req, res);
    },
    async resolveToken(tenantId, value) {
      if (!/^(?:[a-z0-9-]{1,40}\.)?[A-Za-z0-9_-]{20,128}$/.test(value)) return undefined;
      // One indexed lookup (the stored id is the token's SHA-256), then the checks oidc-provider's
      // own find would make: not expired by its clock, for this tenant's FHIR API, and — for a
      // token that ends with its sign-in session — that session still there, same person, same grant.
      const found = await findBearerToken(await storage.tenant(tenantId), value, clock.now().getTime());
      if (found === undefined) return undefined;
      const p = found.payload as Record<string, unknown> & { exp?: number; aud?: string | string[]; clientId?: string; accountId?: string; grantId?: string; scope?: string; sessionUid?: string; expiresWithSession?: boolean; extra?: { patient?: string } };
      if (typeof p.exp !== 'number' || p.exp * 1000 <= Date.now() || typeof p.clientId !== 'string') return undefined;
      if (p.aud === undefined || ![p.aud].flat().includes(fhirBase(tenantId))) return undefined;
      if (p.expiresWithSession === true) {
        const provider = (await entry(tenantId)).provider;
        const session = p.sessionUid === undefined ? undefined : await provider.Session.findByUid(p.sessionUid);
        if (session === undefined || session.accountId !== p.accountId || session.grantIdFor(p.clientId) !== p.grantId) return undefined;
      }
      return {
        clientId: p.clientId,
        ...(found.model === 'AccessToken' && typeof p.accountId === 'string' ? { accountId: p.accountId } : {}),
        scope: p.scope ?? '',
        ...(typeof p.grantId === 'string' ? { grantId: p.grantId } : {}),
        ...(typeof p.extra?.patient === 'string' ? { patient: p.extra.patient } : {}),
        ...(found.client === undefined ? {} : { app: found.client }),
      };
    },
    async withdrawConsent(tenantId, grantId, by, context) {
      const consent = /^[A-Za-z0-9_-]{10,64}$/.test(grantId) ? await consents.get(tenantId, grantId) : undefined;
      if (consent === undefined || consent.accountId !== by.accountId || consent.revokedAt !== undefined) throw new OAuthError('consent-not-found', 'No such connected app.', { status: 404 });
      const provider = (await entry(tenantId)).provider;
      await Promise.all([provider.AccessToken.revokeByGrantId(grantId), provider.RefreshToken.revokeByGrantId(grantId), provider.AuthorizationCode.revokeByGrantId(grantId)]);
      const grant = await provider.Grant.find(grantId);
      await grant?.destroy();
      await consents.markRevoked(tenantId, grantId);
      await audit.record(tenantId, [
        {
          ...operatorEvent('consent.revoked', { id: `account:${by.accountId}`, role: by.role, client: `oauth:${consent.clientId}` }, { detail: `grant ${grantId}; every token of it revoked`, ...(consent.patient === undefined ? {} : { subjects: [consent.patient] }) }),
          purpose: 'PATRQT',
          ...context,
        },
      ]);
    },
    async withdrawApp(tenantId, clientId, by, context) {
      const grants = (await consents.listOf(tenantId, by.accountId)).filter((c) => c.clientId === clientId);
      if (grants.length === 0) throw new OAuthError('consent-not-found', 'No such connected app.', { status: 404 });
      for (const c of grants) await this.withdrawConsent(tenantId, c.grantId, by, context);
      return grants.length;
    },
    async rotateSigningKey(tenantId) {
      const purpose = signingPurpose(tenantId);
      const version = await keys.addSigningKey(purpose, await newSigningKey());
      // Keep what is still published; older versions leave the key store.
      const published = publishedKeys(await keys.signingKeys(purpose, newSigningKey), clock.now().getTime(), settings.signingKeyRetainDays);
      const oldest = Math.min(...published.map((v) => v.version));
      await keys.retireSigningKeys(purpose, oldest);
      cache.delete(tenantId);
      return version;
    },
  };
}
