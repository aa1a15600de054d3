import { createHash } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';

/**
 * oidc-provider's storage adapter on Tresor's data sets: every artifact (tokens, codes, sessions,
 * interactions, grants…) of a tenant is a row of that tenant's `oauth_artifacts` table
 * (artifact-migrations.ts), on SQLite and PostgreSQL alike.
 *
 * Bearer secrets are never stored as given (RFC 6819 §5.1.4.1.3, no cleartext storage of
 * credentials): the id of an AccessToken, RefreshToken, AuthorizationCode or ClientCredentials
 * row IS the token, a Session's id is its cookie, an Interaction's id is in its cookie. So the key
 * stored is the SHA-256 of the id, for every model but Grant (its id is a handle that appears in
 * every token of the grant and authorises nothing by itself) and Client (never stored here).
 * A fast hash is enough: the ids are CSPRNG output of ≥ 126 bits (nanoid; tokens 256 bits), which
 * no one can brute-force (OWASP ASVS 5 V11.4.2 reserves slow hashes for low-entropy secrets).
 * Whoever reads the table — a backup, a replica, a read-only injection — can therefore present
 * nothing it finds there. The same holds inside the payloads:
 * - `jti` (always equal to the id) is dropped on write and put back by `find`, which is handed the id;
 * - any other top-level string holding the row's own id (an Interaction's `returnTo` is
 *   `…/auth/<its id>`) is stored cut in pieces around it, and joined again by `find`;
 * - an Interaction's `session.cookie` (the Session's id, i.e. the login cookie) is dropped:
 *   oidc-provider 8.8 writes it (lib/models/interaction.js) but never reads it back.
 *
 * The two lookups without the id, and what that means:
 * - `Session.findByUid` (lib/models/session.js) returns a payload without `jti`: it cannot be
 *   restored, and keeping it would store the login cookie in clear. oidc-provider only reads
 *   such a Session — the principal check of `interactionDetails` (lib/provider.js) and of
 *   session-bound tokens (lib/models/mixins/is_session_bound.js) look at `accountId` and
 *   `authorizations`, never at the id, and never save it. The instance gets a random id of its
 *   own (Session's constructor), so code of ours that saved one would write a new, orphaned row
 *   (no cookie names it; it expires), never overwrite or leak the real one. To change a session,
 *   find it by its cookie.
 * - `DeviceCode.findByUserCode` (lib/actions/code_verification.js) saves the code it found under
 *   its id once the user approves, so a DeviceCode row keeps its `jti`, the device_code a
 *   device polls the token endpoint with, in clear. Accepted because the device flow is not
 *   enabled in Tresor's provider: the rows never exist. Enabling it must revisit this (and the
 *   user code, stored in clear for the lookup, is low-entropy anyway: rate limits protect it).
 *
 * Expiry follows oidc-provider's example adapters: `expiresIn` seconds from now, none when it is
 * absent or 0 (oidc-provider still checks the payload's own `exp`); expired rows are invisible at
 * once and removed by `sweepArtifacts`. Consumption (single-use codes and rotated refresh tokens,
 * RFC 6749 §4.1.2, RFC 9700 §4.14) is the `consumed_at` column, reported as `consumed` in epoch
 * seconds, the field oidc-provider checks. Nothing here logs: payloads hold personal data.
 */

export interface AdapterDeps {
  /** The tenant's data set (storage.tenant(tenantId)). */
  readonly db: () => Promise<SqlDatabase>;
  /** Milliseconds since the epoch (the app's clock). */
  readonly now: () => number;
  /** Registered clients come from Tresor's own client register, not from this table. */
  readonly findClient: (clientId: string) => Promise<Record<string, unknown> | undefined>;
}

interface ArtifactRow {
  readonly payload: string;
  readonly consumed_at: number | null;
}

/** Models whose id is not a bearer secret and is stored as given. */
const plainIdModels = new Set(['Grant']);
/** Models whose payload keeps its `jti` in clear because a lookup without the id must give it back (see above). */
const jtiKeptModels = new Set(['DeviceCode']);
/** Reserved top-level key of a stored payload: the fields stored cut around the row's id. No oidc-provider field starts with `$`. */
const cutFieldsKey = '$cutAtId';

const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Registered clients are managed in Tresor's own register; dynamic registration (RFC 7591) is off. */
const clientsAreReadOnly = () => new Error('OAuth clients are read-only here: they come from the client register');

/** What a payload becomes in the table; see the module comment. */
function toStored(model: string, id: string, payload: AdapterPayload): string {
  if (Object.hasOwn(payload, cutFieldsKey)) throw new TypeError(`payload field ${cutFieldsKey} is reserved`);
  const { jti: _jti, consumed: _consumed, ...rest } = payload;
  const stored: Record<string, unknown> = rest;
  if (jtiKeptModels.has(model)) {
    stored['jti'] = id;
  } else if (!plainIdModels.has(model)) {
    const cut: string[] = [];
    for (const [key, value] of Object.entries(rest)) {
      if (typeof value === 'string' && value.includes(id)) {
        stored[key] = value.split(id);
        cut.push(key);
      }
    }
    if (cut.length > 0) stored[cutFieldsKey] = cut;
  }
  if (model === 'Interaction' && isRecord(rest['session']) && Object.hasOwn(rest['session'], 'cookie')) {
    const { cookie: _cookie, ...session } = rest['session'];
    stored['session'] = session;
  }
  return JSON.stringify(stored);
}

/** The payload oidc-provider stored, from a row; `id` is the one asked for, when the caller gave it. */
function fromStored(row: ArtifactRow, id: string | undefined): AdapterPayload {
  const payload = JSON.parse(row.payload) as AdapterPayload;
  const cut = payload[cutFieldsKey] as string[] | undefined;
  delete payload[cutFieldsKey];
  const knownId = id ?? (typeof payload['jti'] === 'string' ? payload['jti'] : undefined);
  for (const key of cut ?? []) {
    // Without the id (findByUid) a cut field cannot be put together again: left out rather than wrong.
    if (knownId === undefined) delete payload[key];
    else payload[key] = (payload[key] as string[]).join(knownId);
  }
  if (id !== undefined) payload['jti'] = id;
  if (row.consumed_at !== null) payload['consumed'] = Math.floor(row.consumed_at / 1000);
  return payload;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expiresAt(now: number, expiresIn: number | undefined): number | null {
  return typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn !== 0 ? now + Math.round(expiresIn * 1000) : null;
}

/** `consumed` as oidc-provider sets it (epoch seconds), in milliseconds; any other truthy value counts as now. */
function consumedAt(now: number, consumed: unknown): number | null {
  if (typeof consumed === 'number' && Number.isFinite(consumed)) return Math.round(consumed * 1000);
  return consumed ? now : null;
}

const optionalString = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The adapter class oidc-provider instantiates once per model (`new Adapter('AccessToken')`),
 * bound to one tenant's data set: a provider serves one tenant, so nothing here filters by tenant.
 */
export function createAdapterClass(deps: AdapterDeps): new (name: string) => Adapter {
  return class TresorOAuthAdapter implements Adapter {
    readonly #model: string;

    constructor(name: string) {
      this.#model = name;
    }

    #key(id: string): string {
      return plainIdModels.has(this.#model) ? id : sha256Hex(id);
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      if (this.#model === 'Client') throw clientsAreReadOnly();
      if (id === '') throw new TypeError('an OAuth artifact needs an id');
      const db = await deps.db();
      const now = deps.now();
      const table = db.table('oauth_artifacts');
      await db.execute(
        `INSERT INTO ${table} (model, id, payload, grant_id, client_id, uid, user_code, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
          'ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, client_id = excluded.client_id, uid = excluded.uid, ' +
          'user_code = excluded.user_code, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at',
        [
          this.#model,
          this.#key(id),
          toStored(this.#model, id, payload),
          optionalString(payload.grantId),
          optionalString(payload.clientId),
          optionalString(payload.uid),
          optionalString(payload.userCode),
          expiresAt(now, expiresIn),
          consumedAt(now, payload.consumed),
        ],
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.#model === 'Client') return deps.findClient(id);
      const row = await this.#findOne('id = ?', this.#key(id));
      return row === undefined ? undefined : fromStored(row, id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (this.#model === 'Client') return undefined;
      const row = await this.#findOne('uid = ?', uid);
      return row === undefined ? undefined : fromStored(row, undefined);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (this.#model === 'Client') return undefined;
      const row = await this.#findOne('user_code = ?', userCode);
      return row === undefined ? undefined : fromStored(row, undefined);
    }

    async consume(id: string): Promise<void> {
      if (this.#model === 'Client') throw clientsAreReadOnly();
      const db = await deps.db();
      await db.execute(`UPDATE ${db.table('oauth_artifacts')} SET consumed_at = ? WHERE model = ? AND id = ?`, [deps.now(), this.#model, this.#key(id)]);
    }

    async destroy(id: string): Promise<void> {
      if (this.#model === 'Client') throw clientsAreReadOnly();
      const db = await deps.db();
      await db.execute(`DELETE FROM ${db.table('oauth_artifacts')} WHERE model = ? AND id = ?`, [this.#model, this.#key(id)]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      if (this.#model === 'Client') throw clientsAreReadOnly();
      const db = await deps.db();
      await db.execute(`DELETE FROM ${db.table('oauth_artifacts')} WHERE model = ? AND grant_id = ?`, [this.#model, grantId]);
    }

    /**
     * The live row of this model matching `column = ?`. A uid or user code could name more than one
     * row (two saves racing); the one that lives longest, i.e. was saved last, answers, as the
     * memory adapter's last-write-wins index would.
     */
    async #findOne(where: 'id = ?' | 'uid = ?' | 'user_code = ?', value: string): Promise<ArtifactRow | undefined> {
      const db = await deps.db();
      const rows = await db.query<ArtifactRow>(
        `SELECT payload, consumed_at FROM ${db.table('oauth_artifacts')} WHERE model = ? AND ${where} AND (expires_at IS NULL OR expires_at > ?) ` +
          'ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END DESC, expires_at DESC LIMIT 1',
        [this.#model, value, deps.now()],
      );
      return rows[0];
    }
  };
}

/**
 * Deletes the artifacts that expired (`expires_at <= now`, the same bound `find` hides them at),
 * and returns how many. Every authorization and token request adds rows, so without a sweep the
 * table would only grow; consumed codes go with their expiry, which oidc-provider keeps short.
 */
export async function sweepArtifacts(db: SqlExecutor, now: number): Promise<number> {
  return db.execute(`DELETE FROM ${db.table('oauth_artifacts')} WHERE expires_at IS NOT NULL AND expires_at <= ?`, [now]);
}

/**
 * The resource server's lookup of a presented access token (AccessToken or ClientCredentials)
 * in one indexed query: its payload, if a live row exists. The caller still checks `exp`,
 * the audience and any session binding (provider.ts `resolveToken`).
 */
export async function findBearerToken(
  db: SqlExecutor,
  value: string,
  now: number,
): Promise<{ model: 'AccessToken' | 'ClientCredentials'; payload: AdapterPayload; client: { kind: string; role: string | null; active: boolean } | undefined } | undefined> {
  // The app comes along (clients.ts's table): whether it is still registered and enabled, and a backend service's role.
  const rows = await db.query<ArtifactRow & { model: string; kind: string | null; role: string | null; disabled_at: number | string | null; found: string | null }>(
    `SELECT a.model, a.payload, a.consumed_at, c.client_id AS found, c.kind, c.role, c.disabled_at FROM ${db.table('oauth_artifacts')} a LEFT JOIN ${db.table('oauth_clients')} c ON c.client_id = a.client_id
     WHERE a.model IN ('AccessToken', 'ClientCredentials') AND a.id = ? AND (a.expires_at IS NULL OR a.expires_at > ?)`,
    [sha256Hex(value), now],
  );
  const row = rows[0];
  if (row === undefined || row.consumed_at !== null) return undefined;
  return {
    model: row.model as 'AccessToken' | 'ClientCredentials',
    payload: fromStored({ payload: row.payload, consumed_at: null }, value),
    client: row.found === null ? undefined : { kind: row.kind as string, role: row.role, active: row.disabled_at === null },
  };
}
