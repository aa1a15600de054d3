import { randomBytes } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { createLookupCache, type SqlDatabase } from '../platform/db/index.js';
import { open, seal } from './envelope.js';
import { KeyError } from './errors.js';
import type { KeyProvider } from './key-provider.js';
import { insertDataKey, insertTenantKey, selectCurrentDataKey, selectDataKey, selectTenantKey, shredDataKeys, type DataKeyRow } from './store.js';

/** An unwrapped data key; `key` never leaves the process, is never logged or stored in clear. */
export interface DataKey {
  readonly keyId: string;
  readonly version: number;
  readonly key: Buffer;
}

/** The tenant-wide data key, for resources about no patient. */
export const tenantSubject = '_tenant';

export interface Keys {
  /** The current data key of a subject (`Patient/<id>` or `tenantSubject`), made on first use. */
  dataKeyFor(tenantId: string, subject: string): Promise<DataKey>;
  /** A data key by id and version, for decryption; throws `key-shredded` once destroyed. */
  dataKey(tenantId: string, keyId: string, version: number): Promise<DataKey>;
  /** The tenant's HMAC key for blind indexes. */
  indexKey(tenantId: string): Promise<Buffer>;
  /** Crypto-shredding: destroys every version of the subject's data key. Returns versions destroyed. */
  shred(tenantId: string, subject: string): Promise<number>;
}

export interface KeysDeps {
  readonly db: SqlDatabase;
  readonly provider: KeyProvider;
  readonly clock: Clock;
}

const subjectPattern = /^(Patient\/[A-Za-z0-9\-.]{1,64}|_tenant)$/;

/**
 * The key hierarchy (NIST SP 800-57 Pt 1 §6.1): master key (provider) → per-tenant
 * key-encryption key and index key → per-subject data keys. Every wrap binds, in its AAD,
 * what the key is for, so a wrapped key copied to another tenant or subject does not open.
 * Unwrapped keys are cached; the cache forgets at once when the key store changes (SQLite),
 * or within a second (PostgreSQL), so a shred counts everywhere.
 */
export function createKeys({ db, provider, clock }: KeysDeps): Keys {
  const cacheOptions = { ttlMs: 1000, maxEntries: 100_000 };
  const tenantKeys = createLookupCache<{ version: number; key: Buffer }>(db, cacheOptions);
  const dataKeys = createLookupCache<DataKey>(db, cacheOptions);
  const shredded = (tenantId: string, keyId: string) =>
    new KeyError('key-shredded', `data key ${keyId} of tenant ${tenantId} was destroyed`, { status: 410, expose: false });

  async function tenantKey(tenantId: string, purpose: 'kek' | 'index', version?: number): Promise<{ version: number; key: Buffer }> {
    const cacheKey = `${tenantId}|${purpose}|${version ?? 'current'}`;
    const found = await tenantKeys.get(cacheKey, async () => {
      const row = await selectTenantKey(db, tenantId, purpose, version);
      if (row === undefined) return undefined;
      const aad = `tenant-key|${tenantId}|${purpose}|${row.version}`;
      return { version: row.version, key: await provider.unwrap(Buffer.from(row.wrapped), aad, row.master_version) };
    });
    if (found !== undefined) return found;
    if (version !== undefined) throw new KeyError('key-missing', `${purpose} version ${version} of tenant ${tenantId} is missing`, { status: 500 });
    // First use: make version 1. A concurrent maker may win the insert; then read theirs.
    const key = randomBytes(32);
    const masterVersion = await provider.currentVersion();
    const wrapped = await provider.wrap(key, `tenant-key|${tenantId}|${purpose}|1`, masterVersion);
    await insertTenantKey(db, { tenantId, purpose, version: 1, wrapped, masterVersion, createdAt: clock.now().getTime() });
    tenantKeys.delete(cacheKey);
    return tenantKey(tenantId, purpose, undefined);
  }

  const dekAad = (tenantId: string, row: { key_id: string; subject: string; version: number }) => `data-key|${tenantId}|${row.subject}|${row.key_id}|${row.version}`;

  async function unwrapDataKey(tenantId: string, row: DataKeyRow): Promise<DataKey> {
    if (row.wrapped === null) throw shredded(tenantId, row.key_id);
    const kek = await tenantKey(tenantId, 'kek', row.kek_version);
    return { keyId: row.key_id, version: row.version, key: open(kek.key, row.wrapped, dekAad(tenantId, row)) };
  }

  async function dataKeyFor(tenantId: string, subject: string): Promise<DataKey> {
    if (!subjectPattern.test(subject)) throw new KeyError('subject-invalid', `not a key subject: ${subject}`, { status: 500 });
    const cacheKey = `${tenantId}|subject|${subject}`;
    const current = await dataKeys.get(cacheKey, async () => {
      const row = await selectCurrentDataKey(db, tenantId, subject);
      return row === undefined ? undefined : unwrapDataKey(tenantId, row);
    });
    if (current !== undefined) return current;
    const kek = await tenantKey(tenantId, 'kek');
    const row = { key_id: randomBytes(8).toString('hex'), subject, version: 1 };
    const key = randomBytes(32);
    const inserted = await insertDataKey(db, {
      tenantId,
      keyId: row.key_id,
      subject,
      version: 1,
      wrapped: seal(kek.key, key, dekAad(tenantId, row)),
      kekVersion: kek.version,
      createdAt: clock.now().getTime(),
    });
    // Another process made this subject's first key at the same moment: use theirs.
    if (!inserted) return dataKeyFor(tenantId, subject);
    return { keyId: row.key_id, version: 1, key };
  }

  return {
    dataKeyFor,
    async dataKey(tenantId, keyId, version) {
      const found = await dataKeys.get(`${tenantId}|id|${keyId}|${version}`, async () => {
        const row = await selectDataKey(db, tenantId, keyId, version);
        return row === undefined ? undefined : unwrapDataKey(tenantId, row);
      });
      if (found === undefined) throw new KeyError('key-missing', `data key ${keyId}/${version} of tenant ${tenantId} is missing`, { status: 500 });
      return found;
    },
    async indexKey(tenantId) {
      return (await tenantKey(tenantId, 'index')).key;
    },
    async shred(tenantId, subject) {
      if (!subjectPattern.test(subject) || subject === tenantSubject) throw new KeyError('subject-invalid', `only a patient's key can be shredded, not ${subject}`, { status: 400 });
      const count = await shredDataKeys(db, tenantId, subject, clock.now().getTime());
      // Every cached copy goes, including those cached by key id; then the old bytes leave the
      // key store's files (WAL page images, dead tuples).
      dataKeys.clear();
      await db.scrub();
      return count;
    },
  };
}
