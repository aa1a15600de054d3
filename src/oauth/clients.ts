import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import type { Migration, SqlExecutor, Storage } from '../platform/db/index.js';
import { hashToken, randomToken } from '../platform/random-token.js';
import { OAuthError } from './errors.js';
import { checkRedirectUri } from './redirect-uri.js';
import { nonResourceScopes, parseResourceScope } from './scopes.js';

/**
 * The tenant's register of third-party apps (OAuth clients, RFC 6749 §2). Tenant admins
 * register them (`POST /tenants/{t}/apps`, `tresor client create`); there is no dynamic
 * registration, so no app exists that an administrator did not admit.
 *
 * - `confidential`: a server-side web app; authenticates with a secret (256 random bits, shown
 *   once, stored as SHA-256: OWASP ASVS 5 V11.4.2) or with `private_key_jwt` (RFC 7523, its
 *   public keys registered); authorization code + PKCE, refresh tokens.
 * - `public`: a browser or native app that cannot keep a secret; PKCE S256 only (RFC 9700 §2.1.1).
 * - `backend`: SMART Backend Services — client credentials, no person; acts with a service role
 *   (`service` or `service-reader`), which caps every token it gets.
 * Redirect URIs are exact and credential-free (RFC 9700 §4.1.3; the rules: redirect-uri.ts).
 */
export const clientKinds = ['confidential', 'public', 'backend'] as const;
export type ClientKind = (typeof clientKinds)[number];
export const clientAuthMethods = ['client_secret_basic', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof clientAuthMethods)[number];
export const backendRoles = ['service', 'service-reader'] as const;
export type BackendRole = (typeof backendRoles)[number];

export interface ClientInfo {
  readonly clientId: string;
  readonly tenantId: string;
  readonly name: string;
  readonly publisher: string;
  readonly kind: ClientKind;
  readonly authMethod: ClientAuthMethod | 'none';
  readonly redirectUris: readonly string[];
  /** The scopes it may ask for; each request and consent is within these. */
  readonly scope: string;
  /** Backend services: the role its tokens act with. */
  readonly role?: BackendRole;
  /** `pending`: registered, usable only once a platform operator approves it (`tresor client approve`). */
  readonly status: 'active' | 'disabled' | 'pending';
  readonly createdAt: string;
  /** Who approved a registration that needed it. */
  readonly approvedBy?: string;
}

export interface ClientInput {
  readonly name: string;
  readonly publisher: string;
  readonly kind: ClientKind;
  readonly authMethod?: ClientAuthMethod;
  readonly redirectUris?: readonly string[];
  readonly scope: string;
  /** `private_key_jwt`: the app's public keys (a JWK Set). */
  readonly jwks?: unknown;
  readonly role?: BackendRole;
}

export interface Clients {
  /**
   * Registers an app; a secret, when it has one, is in the result and nowhere else ever after.
   * `pending`: the app gets no token until `approve` (its reach exceeds its registrant's).
   */
  create(tenantId: string, input: ClientInput, by: string, options?: { readonly pending?: boolean }): Promise<{ client: ClientInfo; clientSecret?: string }>;
  /** Makes a pending registration usable, recording who approved it; `409 client-not-pending` otherwise. */
  approve(tenantId: string, clientId: string, by: string): Promise<ClientInfo>;
  get(tenantId: string, clientId: string): Promise<ClientInfo | undefined>;
  list(tenantId: string): Promise<ClientInfo[]>;
  setDisabled(tenantId: string, clientId: string, disabled: boolean): Promise<ClientInfo>;
  /** A new secret for a confidential or backend app that uses one; the old one stops working. */
  renewSecret(tenantId: string, clientId: string): Promise<{ client: ClientInfo; clientSecret: string }>;
  /** The metadata oidc-provider validates and uses (RFC 7591 names); undefined for unknown or disabled apps. */
  metadata(tenantId: string, clientId: string): Promise<Record<string, unknown> | undefined>;
}

/** How a registered secret is stored in the metadata oidc-provider sees (compareSecret checks it). */
const secretPrefix = 'sha256:';
export const storedSecret = (secret: string): string => `${secretPrefix}${hashToken(secret).toString('hex')}`;

/** Constant-time check of a presented client secret against its stored hash (OWASP ASVS 5 V11.5). */
export function compareSecret(stored: unknown, presented: unknown): boolean {
  if (typeof stored !== 'string' || !stored.startsWith(secretPrefix) || typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return false;
  return constantTimeEqual(Buffer.from(stored.slice(secretPrefix.length), 'hex'), hashToken(presented));
}

const clientsTable = (t: (name: string) => string) => [
  `CREATE TABLE ${t('oauth_clients')} (client_id TEXT PRIMARY KEY, name TEXT NOT NULL, publisher TEXT NOT NULL, kind TEXT NOT NULL, auth_method TEXT NOT NULL, redirect_uris TEXT NOT NULL, scope TEXT NOT NULL, jwks TEXT, role TEXT, secret_hash TEXT, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, disabled_at BIGINT)`,
];

// A registration waiting for a platform operator (pending_at set), and who approved one.
const clientApproval = (t: (name: string) => string) => [`ALTER TABLE ${t('oauth_clients')} ADD COLUMN pending_at BIGINT`, `ALTER TABLE ${t('oauth_clients')} ADD COLUMN approved_by TEXT`];

export const oauthClientMigrations: readonly Migration[] = [
  { id: 'oauth/002-clients', up: { sqlite: clientsTable, postgres: clientsTable } },
  { id: 'oauth/004-client-approval', up: { sqlite: clientApproval, postgres: clientApproval } },
];

interface ClientRow {
  client_id: string;
  name: string;
  publisher: string;
  kind: string;
  auth_method: string;
  redirect_uris: string;
  scope: string;
  jwks: string | null;
  role: string | null;
  secret_hash: string | null;
  created_at: number | string;
  disabled_at: number | string | null;
  pending_at: number | string | null;
  approved_by: string | null;
}

const bad = (message: string) => new OAuthError('client-invalid', message, { status: 400 });

function checkText(name: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw bad(`${name} is required.`);
  const text = value.normalize('NFC').trim();
  if (text.length < 1 || text.length > max || /\p{Cc}/u.test(text)) throw bad(`${name}: 1–${max} printable characters.`);
  return text;
}

/** The public keys of a `private_key_jwt` client: an RFC 7517 JWK Set of public RSA or EC keys. */
function checkJwks(jwks: unknown): string {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 10) throw bad('jwks is a JWK Set ({"keys": [...]}) with 1–10 public keys.');
  for (const key of keys) {
    if (key === null || typeof key !== 'object' || 'd' in key || 'k' in key) throw bad('jwks holds public keys only (no "d", no symmetric "k").');
    const kty = (key as { kty?: unknown }).kty;
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') throw bad('jwks keys are RSA, EC or OKP public keys.');
    try {
      createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    } catch {
      throw bad('A key in jwks is not a valid public JWK.');
    }
  }
  return JSON.stringify({ keys });
}

function checkScope(scope: unknown, kind: ClientKind): string {
  if (typeof scope !== 'string' || scope.length > 4000) throw bad('scope is a space-separated list of the scopes the app may ask for.');
  const items = [...new Set(scope.split(' ').filter(Boolean))];
  if (items.length === 0) throw bad('scope names at least one scope.');
  for (const item of items) {
    const parsed = parseResourceScope(item);
    if (parsed === undefined) {
      if (!(nonResourceScopes as readonly string[]).includes(item)) throw bad(`Unknown scope ${JSON.stringify(item)}: SMART v2 resource scopes (e.g. patient/Observation.rs) or ${nonResourceScopes.join(', ')}.`);
      if (kind === 'backend') throw bad(`A backend service asks for system/ scopes only, not ${item}.`);
      continue;
    }
    // Backend services act without a person: system/ scopes; apps with a person: patient/ and user/.
    if ((kind === 'backend') !== (parsed.context === 'system')) {
      throw bad(kind === 'backend' ? `A backend service asks for system/ scopes only, not ${item}.` : `An app used by a person asks for patient/ or user/ scopes, not ${item} (system/ is for backend services).`);
    }
  }
  return items.join(' ');
}

/** `development`: a confidential app may redirect to plain http on a loopback address (redirect-uri.ts). */
export function createClients({ storage, clock, development }: { storage: Storage; clock: Clock; development: boolean }): Clients {
  const dbOf = (tenantId: string) => storage.tenant(tenantId);

  function toInfo(tenantId: string, row: ClientRow): ClientInfo {
    return {
      clientId: row.client_id,
      tenantId,
      name: row.name,
      publisher: row.publisher,
      kind: row.kind as ClientKind,
      authMethod: row.auth_method as ClientAuthMethod | 'none',
      redirectUris: JSON.parse(row.redirect_uris) as string[],
      scope: row.scope,
      ...(row.role === null ? {} : { role: row.role as BackendRole }),
      status: row.disabled_at !== null ? 'disabled' : row.pending_at !== null ? 'pending' : 'active',
      createdAt: new Date(Number(row.created_at)).toISOString(),
      ...(row.approved_by === null ? {} : { approvedBy: row.approved_by }),
    };
  }

  async function row(db: SqlExecutor, clientId: string): Promise<ClientRow | undefined> {
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(clientId)) return undefined;
    return (await db.query<ClientRow>(`SELECT * FROM ${db.table('oauth_clients')} WHERE client_id = ?`, [clientId]))[0];
  }

  async function existing(tenantId: string, clientId: string): Promise<ClientRow> {
    const found = await row(await dbOf(tenantId), clientId);
    if (found === undefined) throw new OAuthError('client-not-found', 'No such app in this tenant.', { status: 404 });
    return found;
  }

  return {
    async create(tenantId, input, by, options = {}) {
      const kind = input.kind;
      if (!(clientKinds as readonly string[]).includes(kind)) throw bad(`kind is one of ${clientKinds.join(', ')}.`);
      const name = checkText('name', input.name, 100);
      const publisher = checkText('publisher', input.publisher, 200);
      const scope = checkScope(input.scope, kind);
      const authMethod: ClientAuthMethod | 'none' = kind === 'public' ? 'none' : (input.authMethod ?? 'client_secret_basic');
      if (kind === 'public' && input.authMethod !== undefined) throw bad('A public app has no credentials: it proves itself with PKCE.');
      if (authMethod !== 'none' && !(clientAuthMethods as readonly string[]).includes(authMethod)) throw bad(`authMethod is one of ${clientAuthMethods.join(', ')}.`);
      const redirectUris = kind === 'backend' ? [] : [...new Set((input.redirectUris ?? []).map((u) => checkRedirectUri(u, kind, { development })))];
      if (kind !== 'backend' && (redirectUris.length === 0 || redirectUris.length > 10)) throw bad('An app used by a person has 1–10 redirect URIs.');
      if (kind === 'backend' && (input.redirectUris ?? []).length > 0) throw bad('A backend service has no redirect URIs.');
      const jwks = authMethod === 'private_key_jwt' ? checkJwks(input.jwks) : undefined;
      if (authMethod !== 'private_key_jwt' && input.jwks !== undefined) throw bad('jwks is only for authMethod private_key_jwt.');
      const role = kind === 'backend' ? (input.role ?? 'service-reader') : undefined;
      if (role !== undefined && !(backendRoles as readonly string[]).includes(role)) throw bad(`role is one of ${backendRoles.join(', ')}.`);
      if (kind !== 'backend' && input.role !== undefined) throw bad("An app used by a person acts with that person's role.");
      const clientSecret = authMethod === 'client_secret_basic' ? randomToken(32) : undefined;
      // 128 random bits (RFC 6749 §2.2 leaves the form to the server), behind a prefix so that an
      // id never begins with "-", which `tresor client approve <id>` would read as an option.
      const clientId = `app_${randomBytes(16).toString('base64url')}`;
      const db = await dbOf(tenantId);
      const now = clock.now().getTime();
      await db.execute(
        `INSERT INTO ${db.table('oauth_clients')} (client_id, name, publisher, kind, auth_method, redirect_uris, scope, jwks, role, secret_hash, created_by, created_at, disabled_at, pending_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
        [clientId, name, publisher, kind, authMethod, JSON.stringify(redirectUris), scope, jwks ?? null, role ?? null, clientSecret === undefined ? null : storedSecret(clientSecret), by, now, options.pending === true ? now : null],
      );
      const client = toInfo(tenantId, (await row(db, clientId)) as ClientRow);
      return clientSecret === undefined ? { client } : { client, clientSecret };
    },
    async approve(tenantId, clientId, by) {
      const found = await existing(tenantId, clientId);
      if (found.pending_at === null) throw new OAuthError('client-not-pending', 'This app is not waiting for approval.', { status: 409 });
      const db = await dbOf(tenantId);
      // The pending row only: two approvals at once record one approver.
      await db.execute(`UPDATE ${db.table('oauth_clients')} SET pending_at = NULL, approved_by = ? WHERE client_id = ? AND pending_at IS NOT NULL`, [by, clientId]);
      return toInfo(tenantId, (await row(db, clientId)) as ClientRow);
    },
    async get(tenantId, clientId) {
      const found = await row(await dbOf(tenantId), clientId);
      return found === undefined ? undefined : toInfo(tenantId, found);
    },
    async list(tenantId) {
      const db = await dbOf(tenantId);
      return (await db.query<ClientRow>(`SELECT * FROM ${db.table('oauth_clients')} ORDER BY created_at, client_id`)).map((r) => toInfo(tenantId, r));
    },
    async setDisabled(tenantId, clientId, disabled) {
      await existing(tenantId, clientId);
      const db = await dbOf(tenantId);
      await db.execute(`UPDATE ${db.table('oauth_clients')} SET disabled_at = ? WHERE client_id = ?`, [disabled ? clock.now().getTime() : null, clientId]);
      return toInfo(tenantId, (await row(db, clientId)) as ClientRow);
    },
    async renewSecret(tenantId, clientId) {
      const found = await existing(tenantId, clientId);
      if (found.auth_method !== 'client_secret_basic') throw bad('This app does not authenticate with a secret.');
      const clientSecret = randomToken(32);
      const db = await dbOf(tenantId);
      await db.execute(`UPDATE ${db.table('oauth_clients')} SET secret_hash = ? WHERE client_id = ?`, [storedSecret(clientSecret), clientId]);
      return { client: toInfo(tenantId, found), clientSecret };
    },
    async metadata(tenantId, clientId) {
      const found = await row(await dbOf(tenantId), clientId);
      // A pending app is unknown to the authorization server: no token until it is approved.
      if (found === undefined || found.disabled_at !== null || found.pending_at !== null) return undefined;
      const person = found.kind !== 'backend';
      const openIdScopes = found.scope.split(' ').filter((s) => parseResourceScope(s) === undefined).join(' ');
      return {
        client_id: found.client_id,
        client_name: found.name,
        // Secrets are compared by compareSecret against this hash; never a signing key (HS* is disabled).
        ...(found.secret_hash === null ? {} : { client_secret: found.secret_hash }),
        token_endpoint_auth_method: found.auth_method,
        ...(found.jwks === null ? {} : { jwks: JSON.parse(found.jwks) as unknown }),
        application_type: found.kind === 'public' && found.redirect_uris.includes('://') && !/"https?:/.test(found.redirect_uris) ? 'native' : 'web',
        redirect_uris: JSON.parse(found.redirect_uris) as string[],
        grant_types: person ? ['authorization_code', 'refresh_token'] : ['client_credentials'],
        response_types: person ? ['code'] : [],
        // oidc-provider's `scope` holds only the OpenID scopes it knows; the SMART resource scopes are ours.
        ...(openIdScopes === '' ? {} : { scope: openIdScopes }),
        'urn:tresor:scope': found.scope,
        'urn:tresor:publisher': found.publisher,
        ...(found.role === null ? {} : { 'urn:tresor:role': found.role }),
      };
    },
  };
}
