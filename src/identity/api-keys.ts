import { randomBytes } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import { createLookupCache, type SqlDatabase } from '../platform/db/index.js';
import { hashToken, randomToken } from '../platform/random-token.js';
import { apiKeyRejected, IdentityError, unauthenticated } from './errors.js';
import { keyRoles, parseRole, type Principal, type Role } from './permissions.js';
import { insertApiKey, selectApiKey, selectApiKeys, updateApiKeyRevoked, type ApiKeyRow } from './store.js';

export interface ApiKeyInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly role: Role;
  readonly label: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface ApiKeys {
  /** Returns the key in clear exactly once; only its hash is stored. */
  create(input: { tenantId: string; role: string; label?: string }): Promise<{ key: string; info: ApiKeyInfo }>;
  list(tenantId: string): Promise<ApiKeyInfo[]>;
  revoke(id: string): Promise<ApiKeyInfo>;
  /** Resolves a bearer credential to its principal, or throws `unauthenticated`. */
  authenticate(bearer: string): Promise<Principal>;
}

// `tresor_sk_` makes leaked keys findable by secret scanners; the id part is a lookup handle,
// the secret part carries 256 bits of CSPRNG entropy (NIST SP 800-63B-4 §3.1.x).
const keyFormat = /^tresor_sk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

// A high-entropy random secret needs no slow hash: SHA-256 cannot be brute-forced from 2^256
// candidates (OWASP ASVS 5 V11.4.2 reserves password hashing for low-entropy secrets).
const dummyHash = hashToken('tresor-timing-equaliser');

/** How long another node's revocation may take to count on PostgreSQL (exact on SQLite). */
export const credentialCacheMs = 1000;

export function createApiKeys({ db, clock }: { db: SqlDatabase; clock: Clock }): ApiKeys {
  const cache = createLookupCache<ApiKeyRow>(db, { ttlMs: credentialCacheMs, maxEntries: 10_000 });
  const toInfo = (row: ApiKeyRow): ApiKeyInfo => ({
    id: row.id,
    tenantId: row.tenant_id,
    role: parseRole(row.role),
    label: row.label,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    ...(row.revoked_at === null ? {} : { revokedAt: new Date(Number(row.revoked_at)).toISOString() }),
  });

  return {
    async create({ tenantId, role, label }) {
      const parsedRole = parseRole(role, keyRoles);
      const cleanLabel = (label ?? `${parsedRole} key`).normalize('NFC').trim();
      if (cleanLabel.length === 0 || cleanLabel.length > 200 || /\p{Cc}/u.test(cleanLabel)) {
        throw new IdentityError('role-invalid', 'A key label is 1–200 printable characters.', { status: 400 });
      }
      const id = randomBytes(8).toString('hex');
      const secret = randomToken(32);
      await insertApiKey(db, { id, tenantId, role: parsedRole, label: cleanLabel, secretHash: hashToken(secret), createdAt: clock.now().getTime() });
      const row = await selectApiKey(db, id);
      if (row === undefined) throw new Error('api key vanished after insert');
      return { key: `tresor_sk_${id}_${secret}`, info: toInfo(row) };
    },
    async list(tenantId) {
      return (await selectApiKeys(db, tenantId)).map(toInfo);
    },
    async revoke(id) {
      await updateApiKeyRevoked(db, id, clock.now().getTime());
      cache.delete(id);
      const row = /^[0-9a-f]{16}$/.test(id) ? await selectApiKey(db, id) : undefined;
      if (row === undefined) throw new IdentityError('apikey-not-found', `No API key ${id}.`, { status: 404 });
      return toInfo(row);
    },
    async authenticate(bearer) {
      const match = keyFormat.exec(bearer);
      if (match === null) throw unauthenticated();
      const [, id, secret] = match as unknown as [string, string, string];
      const row = await cache.get(id, () => selectApiKey(db, id));
      // Hash and compare even for unknown ids, so timing does not tell which ids exist.
      const matches = constantTimeEqual(hashToken(secret), row === undefined ? dummyHash : Buffer.from(row.secret_hash));
      if (row === undefined || !matches || row.revoked_at !== null) throw apiKeyRejected();
      return { kind: 'service-account', id: row.id, tenantId: row.tenant_id, role: parseRole(row.role), label: row.label };
    },
  };
}
