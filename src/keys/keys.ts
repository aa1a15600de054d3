import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as signBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { createLookupCache, type SqlDatabase } from '../platform/db/index.js';
import { open, seal } from './envelope.js';
import { KeyError } from './errors.js';
import type { KeyProvider } from './key-provider.js';
import {
  deleteDataKeysBefore,
  deleteKeksBefore,
  insertDataKeys,
  insertSigningKey,
  insertTenantKey,
  selectSigningKey,
  selectSigningKeys,
  deleteSigningKeysBefore,
  selectSigningKeysBelowMaster,
  updateSigningKeyWrap,
  selectDataKeysById,
  selectDataKeysOfSubjects,
  selectCurrentDataKey,
  selectDataKey,
  countTenantKeysBelowMaster,
  selectKeyCensus,
  selectMasterVersionsInUse,
  selectTenantKey,
  selectTenantKeysBelowMaster,
  shredDataKeys,
  updateTenantKeyWrap,
  selectKeyHolds,
  upsertKeyHolds,
  deleteKeyHolds,
  type DataKeyRow,
} from './store.js';

/** An unwrapped data key; `key` never leaves the process, is never logged or stored in clear. */
export interface DataKey {
  readonly keyId: string;
  readonly version: number;
  /** Whose key it is: `Patient/<id>` or `tenantSubject`. */
  readonly subject: string;
  readonly key: Buffer;
}

export interface Signer {
  readonly version: number;
  readonly publicKey: KeyObject;
  /** Ed25519 signature (RFC 8032) of the UTF-8 text, base64url. */
  sign(text: string): string;
}

export interface SigningKeyVersion {
  readonly version: number;
  readonly privateKey: KeyObject;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

export interface KeyCensus {
  readonly tenantId: string;
  /** 'kek' and 'index': the tenant's own keys; 'data': subjects' data keys. */
  readonly kind: 'kek' | 'index' | 'data';
  readonly version: number;
  readonly live: number;
  readonly destroyed: number;
}

/**
 * A master key version kept because a backup may need it: `holder` names the backup
 * (`snapshot:<id>`, `physical:<label>`, `physical-archive:<ms>`); `until` is when retention is
 * expected to release it (null: not foreseeable, e.g. the newest verified snapshot).
 */
export interface KeyHold {
  readonly holder: string;
  readonly masterVersion: number;
  readonly until: number | null;
  readonly heldAt: number;
}

/** The tenant-wide data key, for resources about no patient. */
export const tenantSubject = '_tenant';

export interface Keys {
  /** The current data key of a subject (`Patient/<id>` or `tenantSubject`), made on first use. */
  dataKeyFor(tenantId: string, subject: string): Promise<DataKey>;
  /** A data key by id and version, for decryption; throws `key-shredded` once destroyed. */
  dataKey(tenantId: string, keyId: string, version: number): Promise<DataKey>;
  /** Many subjects' current keys at once, made where missing in one transaction (a rotation's batch). Shredded subjects map to undefined. */
  dataKeysFor(tenantId: string, subjects: readonly string[]): Promise<Map<string, DataKey | undefined>>;
  /** Many keys by `<key id>.<version>` at once; destroyed ones map to undefined, missing ones are absent. */
  dataKeysByRef(tenantId: string, refs: readonly string[]): Promise<Map<string, DataKey | undefined>>;
  /** The tenant's HMAC key for blind indexes. */
  indexKey(tenantId: string): Promise<Buffer>;
  /** Crypto-shredding: destroys every version of the subject's data key. Returns versions destroyed. */
  shred(tenantId: string, subject: string): Promise<number>;

  // Rotation (driven by the rotation module's jobs).
  /** The tenant's key generation: its current key-encryption key version, which every new data key version takes. */
  generation(tenantId: string): Promise<number>;
  /** Makes `generation` current (idempotent): a new key-encryption key, so every subject gets a new data key version on its next write. */
  beginGeneration(tenantId: string, generation: number): Promise<boolean>;
  /** Removes data key versions and key-encryption keys older than `generation`; `keep` names key ids stored data still references. */
  retireBefore(tenantId: string, generation: number, keep: readonly string[]): Promise<{ dataKeys: number; keks: number }>;
  /** Re-wraps up to `limit` tenant keys still under an older master version; returns how many. */
  rewrapUnderMaster(limit: number): Promise<number>;
  /** Tenant keys wrapped under a master version older than `version`. */
  countBelowMaster(version: number): Promise<number>;
  /** Master versions no tenant key references any more and no backup holds (candidates for retirement). */
  unusedMasterVersions(): Promise<number[]>;
  /** Master versions a stored key is wrapped under now. */
  masterVersionsInUse(): Promise<number[]>;
  /** Master versions kept for backups, by holder. */
  holds(): Promise<KeyHold[]>;
  /**
   * Keeps master versions for a backup: the given ones, or 'in-use' (the current version and
   * every version a stored key is wrapped under now), or 'all' (every version the provider
   * has: for a backup whose needs were not recorded). Sets the holder's `until`.
   */
  hold(holder: string, versions: readonly number[] | 'in-use' | 'all', until: number | null): Promise<void>;
  /** Releases holders (their backups were pruned); the versions go at the next master rotation. */
  releaseHolds(holders: readonly string[]): Promise<number>;
  /**
   * The current Ed25519 signing key of a purpose (e.g. 'audit'), made on first use. The private
   * key is unwrapped only in this process; `publicKey` is derived from it, so a public key
   * swapped in the database cannot make a forged signature verify.
   */
  signer(purpose: string): Promise<Signer>;
  /** The public key of an existing signing key version; undefined when it does not exist. */
  signingPublicKey(purpose: string, version: number): Promise<KeyObject | undefined>;
  /**
   * Every version of a purpose's signing keys, newest first, of any algorithm (an OAuth issuer's
   * RSA keys): `make` creates version 1 on first use. Private keys are unwrapped only in this
   * process and re-wrapped by master rotation like every other key.
   */
  signingKeys(purpose: string, make: () => Promise<KeyObject>): Promise<SigningKeyVersion[]>;
  /** Adds the next version of a purpose's signing key (rotation); returns its version. */
  addSigningKey(purpose: string, privateKey: KeyObject): Promise<number>;
  /** Removes a purpose's versions below `version` (no longer published); returns how many. */
  retireSigningKeys(purpose: string, version: number): Promise<number>;
  /** How many keys of each kind and version each tenant holds; no key material. */
  census(): Promise<KeyCensus[]>;
  /** Drops cached keys (after another process rotated, or a write was refused as stale). */
  forget(): void;
  /** Drops one tenant's unwrapped keys from memory (its data set closed: nothing uses them now). */
  forgetTenant(tenantId: string): void;
}

export interface KeysDeps {
  readonly db: SqlDatabase;
  readonly provider: KeyProvider;
  readonly clock: Clock;
}

const subjectPattern = /^(Patient\/[A-Za-z0-9\-.]{1,64}|_tenant)$/;

/** How long a process may use a cached key after the key store changed (PostgreSQL; SQLite is exact). */
export const keyCacheTtlMs = 1000;

/**
 * The key hierarchy (NIST SP 800-57 Pt 1 §6.1): master key (provider) → per-tenant
 * key-encryption key and index key → per-subject data keys. Every wrap binds, in its AAD,
 * what the key is for, so a wrapped key copied to another tenant or subject does not open.
 * Unwrapped keys are cached; the cache forgets at once when the key store changes (SQLite),
 * or within a second (PostgreSQL), so a shred counts everywhere.
 */
export function createKeys({ db, provider, clock }: KeysDeps): Keys {
  const cacheOptions = { ttlMs: keyCacheTtlMs, maxEntries: 100_000 };
  const tenantKeys = createLookupCache<{ version: number; key: Buffer }>(db, cacheOptions);
  const dataKeys = createLookupCache<DataKey>(db, cacheOptions);
  const shredded = (tenantId: string, which: string) =>
    new KeyError('key-shredded', `data key ${which} of tenant ${tenantId} was destroyed`, { status: 410, expose: false });

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
    return { keyId: row.key_id, version: row.version, subject: row.subject, key: open(kek.key, row.wrapped, dekAad(tenantId, row)) };
  }

  const checkSubject = (subject: string) => {
    if (!subjectPattern.test(subject)) throw new KeyError('subject-invalid', `not a key subject: ${subject}`, { status: 500 });
  };

  async function dataKeyFor(tenantId: string, subject: string): Promise<DataKey> {
    checkSubject(subject);
    // A subject's key version is the tenant's generation: a rotation makes a new KEK version, and
    // each subject's next write (or the rotation job) makes the matching data key version.
    const kek = await tenantKey(tenantId, 'kek');
    const cacheKey = `${tenantId}|subject|${subject}`;
    const current = await dataKeys.get(cacheKey, async () => {
      const row = await selectCurrentDataKey(db, tenantId, subject);
      return row === undefined || (row.wrapped !== null && row.version < kek.version) ? undefined : unwrapDataKey(tenantId, row);
    });
    if (current !== undefined && current.version >= kek.version) return current;
    dataKeys.delete(cacheKey);
    const made = (await dataKeysFor(tenantId, [subject])).get(subject);
    if (made === undefined) throw shredded(tenantId, subject);
    return made;
  }

  /**
   * One transaction: each subject's key of the current generation, made where missing. Under the
   * row locks (PostgreSQL) or the write lock (SQLite), so a shred running at the same moment
   * either sees the new version or is seen here: never a live key after a shred. Returns the
   * subjects another process made a key for at the same moment, to be read again.
   */
  async function makeDataKeys(tenantId: string, subjects: readonly string[], found: Map<string, DataKey | undefined>): Promise<string[]> {
    const kek = await tenantKey(tenantId, 'kek');
    return db.transaction(async (tx) => {
      const latest = new Map<string, DataKeyRow>();
      const destroyed = new Set<string>();
      for (const row of await selectDataKeysOfSubjects(tx, tenantId, subjects, true)) {
        if (row.wrapped === null) destroyed.add(row.subject);
        const seen = latest.get(row.subject);
        if (seen === undefined || row.version > seen.version) latest.set(row.subject, row);
      }
      const made: Array<DataKey & { wrapped: Buffer }> = [];
      for (const subject of subjects) {
        const row = latest.get(subject);
        if (destroyed.has(subject)) found.set(subject, undefined);
        else if (row !== undefined && row.version >= kek.version) found.set(subject, await unwrapDataKey(tenantId, row));
        else {
          const fresh = { key_id: row?.key_id ?? randomBytes(8).toString('hex'), subject, version: kek.version };
          const key = randomBytes(32);
          made.push({ keyId: fresh.key_id, version: fresh.version, subject, key, wrapped: seal(kek.key, key, dekAad(tenantId, fresh)) });
        }
      }
      const createdAt = clock.now().getTime();
      const inserted = await insertDataKeys(tx, made.map((k) => ({ tenantId, keyId: k.keyId, subject: k.subject, version: k.version, wrapped: k.wrapped, kekVersion: kek.version, createdAt })));
      const raced: string[] = [];
      for (const { wrapped: _wrapped, ...k } of made) {
        if (inserted.has(k.subject)) found.set(k.subject, k);
        else raced.push(k.subject);
      }
      return raced;
    });
  }

  async function dataKeysFor(tenantId: string, subjects: readonly string[]): Promise<Map<string, DataKey | undefined>> {
    subjects.forEach(checkSubject);
    const found = new Map<string, DataKey | undefined>();
    // A subject another process made a key for at the same moment: go round and read theirs.
    for (let pending = [...subjects]; pending.length > 0; ) pending = await makeDataKeys(tenantId, pending, found);
    return found;
  }

  async function dataKeysByRef(tenantId: string, refs: readonly string[]): Promise<Map<string, DataKey | undefined>> {
    const wanted = new Set(refs);
    const found = new Map<string, DataKey | undefined>();
    const ids = [...new Set(refs.map((ref) => ref.split('.')[0] as string))];
    for (const row of await selectDataKeysById(db, tenantId, ids)) {
      const ref = `${row.key_id}.${row.version}`;
      if (wanted.has(ref)) found.set(ref, row.wrapped === null ? undefined : await unwrapDataKey(tenantId, row));
    }
    return found;
  }

  const signers = new Map<string, Promise<Signer>>();
  async function unwrapSigningKey(row: { purpose: string; version: number; wrapped: Uint8Array; master_version: number }): Promise<KeyObject> {
    const der = await provider.unwrap(Buffer.from(row.wrapped), `signing-key|${row.purpose}|${row.version}`, row.master_version);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  }
  async function insertWrappedSigningKey(purpose: string, version: number, privateKey: KeyObject): Promise<boolean> {
    const masterVersion = await provider.currentVersion();
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return insertSigningKey(db, { purpose, version, wrapped: await provider.wrap(der, `signing-key|${purpose}|${version}`, masterVersion), masterVersion, createdAt: clock.now().getTime() });
  }
  function signerOf(purpose: string): Promise<Signer> {
    let found = signers.get(purpose);
    if (found === undefined) {
      found = (async () => {
        let row = await selectSigningKey(db, purpose);
        if (row === undefined) {
          // First use: an Ed25519 key pair (NIST SP 800-186 / RFC 8032); the private key leaves this
          // process only wrapped by the master key.
          const { privateKey } = generateKeyPairSync('ed25519');
          const masterVersion = await provider.currentVersion();
          const der = privateKey.export({ format: 'der', type: 'pkcs8' });
          await insertSigningKey(db, { purpose, version: 1, wrapped: await provider.wrap(der, `signing-key|${purpose}|1`, masterVersion), masterVersion, createdAt: clock.now().getTime() });
          row = (await selectSigningKey(db, purpose)) as NonNullable<typeof row>;
        }
        const privateKey = await unwrapSigningKey(row);
        return { version: row.version, publicKey: createPublicKey(privateKey), sign: (text: string) => signBytes(null, Buffer.from(text, 'utf8'), privateKey).toString('base64url') };
      })();
      found.catch(() => signers.delete(purpose));
      signers.set(purpose, found);
    }
    return found;
  }

  return {
    dataKeyFor,
    dataKeysFor,
    dataKeysByRef,
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
      // Until nothing is left: a version made concurrently (a write or a rotation that read the key
      // before this shred committed) is caught by the next round, which then sees it committed.
      let count = 0;
      for (let changed = -1; changed !== 0; ) {
        changed = await shredDataKeys(db, tenantId, subject, clock.now().getTime());
        count += changed;
      }
      // Every cached copy goes, including those cached by key id; then the old bytes leave the
      // key store's files (WAL page images, dead tuples).
      dataKeys.clear();
      await db.scrub();
      return count;
    },
    async generation(tenantId) {
      return (await tenantKey(tenantId, 'kek')).version;
    },
    async beginGeneration(tenantId, generation) {
      const masterVersion = await provider.currentVersion();
      const wrapped = await provider.wrap(randomBytes(32), `tenant-key|${tenantId}|kek|${generation}`, masterVersion);
      const inserted = await insertTenantKey(db, { tenantId, purpose: 'kek', version: generation, wrapped, masterVersion, createdAt: clock.now().getTime() });
      tenantKeys.clear();
      dataKeys.clear();
      return inserted;
    },
    async countBelowMaster(version) {
      return countTenantKeysBelowMaster(db, version);
    },
    async retireBefore(tenantId, generation, keep) {
      const dataKeysRemoved = await deleteDataKeysBefore(db, tenantId, generation, keep);
      const keks = await deleteKeksBefore(db, tenantId, generation);
      tenantKeys.clear();
      dataKeys.clear();
      // Retired keys leave the files too, as shredded ones do.
      if (dataKeysRemoved + keks > 0) await db.scrub();
      return { dataKeys: dataKeysRemoved, keks };
    },
    async signer(purpose) {
      return signerOf(purpose);
    },
    async signingKeys(purpose, make) {
      let rows = await selectSigningKeys(db, purpose);
      if (rows.length === 0) {
        await insertWrappedSigningKey(purpose, 1, await make());
        rows = await selectSigningKeys(db, purpose);
      }
      return Promise.all(rows.map(async (row) => ({ version: row.version, privateKey: await unwrapSigningKey(row), createdAt: Number(row.created_at) })));
    },
    async addSigningKey(purpose, privateKey) {
      // Concurrent rotations: the primary key makes one of them win each version; the loser retries.
      for (;;) {
        const next = ((await selectSigningKey(db, purpose))?.version ?? 0) + 1;
        if (await insertWrappedSigningKey(purpose, next, privateKey)) return next;
      }
    },
    async retireSigningKeys(purpose, version) {
      const removed = await deleteSigningKeysBefore(db, purpose, version);
      if (removed > 0) await db.scrub();
      return removed;
    },
    async signingPublicKey(purpose, version) {
      const row = await selectSigningKey(db, purpose, version);
      if (row === undefined) return undefined;
      return createPublicKey(await unwrapSigningKey(row));
    },
    async rewrapUnderMaster(limit) {
      const target = await provider.currentVersion();
      const signing = await selectSigningKeysBelowMaster(db, target, limit);
      for (const row of signing) {
        const aad = `signing-key|${row.purpose}|${row.version}`;
        const key = await provider.unwrap(Buffer.from(row.wrapped), aad, row.master_version);
        await updateSigningKeyWrap(db, row, await provider.wrap(key, aad, target), target);
      }
      signers.clear();
      if (signing.length > 0) return signing.length;
      const rows = await selectTenantKeysBelowMaster(db, target, limit);
      for (const row of rows) {
        const aad = `tenant-key|${row.tenant_id}|${row.purpose}|${row.version}`;
        const key = await provider.unwrap(Buffer.from(row.wrapped), aad, row.master_version);
        // A concurrent re-wrap of the same row wins; ours changes nothing then.
        await updateTenantKeyWrap(db, row, await provider.wrap(key, aad, target), target);
      }
      tenantKeys.clear();
      return rows.length;
    },
    async unusedMasterVersions() {
      const current = await provider.currentVersion();
      const used = new Set(await selectMasterVersionsInUse(db));
      for (const row of await selectKeyHolds(db)) used.add(Number(row.master_version));
      return (await provider.versions()).filter((v) => v !== current && !used.has(v));
    },
    async masterVersionsInUse() {
      return (await selectMasterVersionsInUse(db)).sort((a, b) => a - b);
    },
    async holds() {
      return (await selectKeyHolds(db)).map((r) => ({ holder: r.holder, masterVersion: Number(r.master_version), until: r.until === null ? null : Number(r.until), heldAt: Number(r.held_at) }));
    },
    async hold(holder, versions, until) {
      const chosen =
        versions === 'all'
          ? await provider.versions()
          : versions === 'in-use'
            ? [...new Set([await provider.currentVersion(), ...(await selectMasterVersionsInUse(db))])]
            : versions;
      await upsertKeyHolds(db, holder, chosen, until, clock.now().getTime());
    },
    async releaseHolds(holders) {
      return holders.length === 0 ? 0 : deleteKeyHolds(db, holders);
    },
    async census() {
      return (await selectKeyCensus(db)).map((r) => ({ tenantId: r.tenant_id, kind: r.kind as KeyCensus['kind'], version: Number(r.version), live: Number(r.live), destroyed: Number(r.destroyed) }));
    },
    forgetTenant(tenantId) {
      tenantKeys.deleteGroup(tenantId);
      dataKeys.deleteGroup(tenantId);
    },
    forget() {
      tenantKeys.clear();
      dataKeys.clear();
    },
  };
}
