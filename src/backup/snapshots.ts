import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { openPostgresDatabase } from '../platform/db/postgres.js';
import { openSqliteDatabase } from '../platform/db/sqlite.js';
import type { Storage, StorageMigrations } from '../platform/db/storage.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/types.js';
import type { BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import { dropPgSchema, exportPgSchema, importPgSchema, pgRowsFormat, type PgImport } from './pg-dataset.js';
import type { Repository } from './repository.js';
import { assembleFile, AssembleError } from './file-assembler.js';
import { chunkReader, loadChunkIndex, packWriter, type ChunkReader } from './packs.js';
import { chunkSqliteDatabase } from './sqlite-chunker.js';
import { operatorRealm } from '../identity/index.js';

/**
 * Snapshots of data sets into a repository (SPEC B1–B3).
 *
 * A snapshot copies each data set consistently — a SQLite file page for page (sqlite-chunker.ts, in a worker thread),
 * cut into fixed-size chunks aligned to pages; a PostgreSQL schema row by row at one point in
 * time (pg-dataset.ts), cut into content-defined chunks at row boundaries — names each chunk by a
 * keyed hash of its content, and uploads,
 * sealed, only chunks the repository does not hold yet: a 15-minute snapshot of a large,
 * little-changed data set stores roughly the pages that changed. The manifest — which data sets,
 * which chunks in which order, sizes, SHA-256 of each whole file, row counts per table — is
 * sealed and signed and written last, atomically: a snapshot exists once its manifest does, so
 * a backup that dies half-way leaves only packs no index or manifest names (removed by `prune`), never a
 * snapshot that claims to be complete.
 */

export type DataSetKind = 'platform' | 'keys' | 'tenant';

/** A SQLite data set: its live file. (`engine` may be left out: SQLite is the default.) */
export interface SqliteDataSetRef {
  readonly engine?: 'sqlite';
  readonly kind: DataSetKind;
  /** The tenant id (for `tenant`), else the kind. */
  readonly id: string;
  /** The live SQLite file. */
  readonly file: string;
}

/** A PostgreSQL data set: its schema, read through the storage's pool. */
export interface PgDataSetRef {
  readonly engine: 'postgres';
  readonly kind: DataSetKind;
  /** The tenant id (for `tenant`), else the kind. */
  readonly id: string;
  readonly pool: pg.Pool;
  readonly schema: string;
}

export type DataSetRef = SqliteDataSetRef | PgDataSetRef;

/**
 * How a data set's chunks encode it: `sqlite-file/1` the SQLite file's bytes, `pg-rows/1` the
 * rows of a PostgreSQL schema (pg-dataset.ts). Manifests from before PostgreSQL snapshots have
 * no `format`: theirs is `sqlite-file/1`.
 */
export type DataSetFormat = 'sqlite-file/1' | 'pg-rows/1';

export interface ManifestDataSet {
  readonly kind: DataSetKind;
  readonly id: string;
  /** Absent in older manifests: `sqlite-file/1`. */
  readonly format?: DataSetFormat;
  readonly bytes: number;
  /** `sqlite-file/1`: the fixed chunk size; `pg-rows/1`: the target average. */
  readonly chunkBytes: number;
  /** SHA-256 of the whole file (or row stream), hex. */
  readonly sha256: string;
  readonly chunks: readonly string[];
  /** Rows per table at snapshot time (a restore must give the same). */
  readonly counts: Readonly<Record<string, number>>;
  /** `pg-rows/1`: the migration ids the schema had applied — its version; a restore applies the rest. */
  readonly migrations?: readonly string[];
}

export const formatOf = (dataSet: Pick<ManifestDataSet, 'format'>): DataSetFormat => dataSet.format ?? 'sqlite-file/1';

export interface Manifest {
  readonly format: 'tresor-backup-manifest/1';
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly takenAt: number;
  /** The engine of the deployment snapshotted (every data set of a snapshot is on it). */
  readonly engine: 'sqlite' | 'postgres';
  readonly tresorVersion: string;
  readonly keyId: string;
  readonly dataSets: readonly ManifestDataSet[];
  /** What this snapshot added to the repository. */
  readonly added: { readonly chunks: number; readonly bytes: number };
}

export interface Progress {
  (event: { readonly phase: 'copy' | 'upload' | 'download' | 'check'; readonly dataSet: string; readonly done: number; readonly total: number }): void;
}

export const manifestPath = (id: string) => `snapshots/${id}.manifest`;

/** A sortable snapshot id: its UTC time, then randomness (`2026-12-01t14-15-00-123z-9f2c1a`). */
export function snapshotId(now: number): string {
  return `${new Date(now).toISOString().toLowerCase().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

function tableCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    // Table names come from the file's own catalogue; quoted as identifiers.
    return Object.fromEntries(tables.map((t) => [t, Number(db.prepare(`SELECT COUNT(*) FROM "${t.replace(/"/g, '""')}"`).pluck().get())]));
  } finally {
    db.close();
  }
}

/**
 * Where plaintext copies wait while a snapshot is cut or verified: a private directory (0700)
 * under the data directory, so a copy never leaves the protection of the live data (not /tmp).
 * Its name carries the process id, so the next run can remove what a killed one left behind.
 */
export function scratchIn(parent: string, purpose: 'backup' | 'verify' | 'restore'): string {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  removeStaleScratch(parent);
  return mkdtempSync(join(parent, `.${purpose}-${process.pid}-`));
}

/** Removes scratch directories of processes that no longer run (a backup or verify killed with -9). */
export function removeStaleScratch(parent: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    const match = /^\.(?:backup|verify|restore)-(\d+)-/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) {
      rmSync(join(parent, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

export interface SnapshotDeps {
  readonly repository: Repository;
  readonly keys: BackupKeys;
  /** Parent of the private scratch directory (the data directory); default the system's temporary directory. */
  readonly scratchParent?: string;
  /**
   * SQLite data sets up to this size are copied in memory, larger ones into the scratch directory
   * (sqlite-chunker.ts); default a quarter of the memory available.
   */
  readonly memoryLimitBytes?: number;
  readonly tresorVersion: string;
  /** Chunk size in bytes; rounded up to a multiple of the file's page size. */
  readonly chunkBytes: number;
  readonly progress?: Progress;
  /** Pack uploads in flight at once (default 4). */
  readonly uploadWindow?: number;
  /** Bytes of sealed chunks per pack (default 8 MiB). */
  readonly packBytes?: number;
}

/** How a data set is named to people: the operators' realm is the platform's own data set, not a tenant. */
const labelOf = (d: { kind: DataSetKind; id: string }) => (d.kind !== 'tenant' ? d.kind : d.id === operatorRealm ? 'platform operators' : `tenant ${d.id}`);

/** The key of the hash that places pg-rows chunk boundaries: derived from the backup key, used for nothing else. */
const boundaryKeyOf = (keys: BackupKeys) => Buffer.from(keys.chunkName(Buffer.from('tresor backup pg-rows/1 chunk boundaries', 'utf8')), 'hex');

/** Takes one snapshot of these data sets; returns its manifest once the manifest is stored. */
export async function takeSnapshot(deps: SnapshotDeps, dataSets: readonly DataSetRef[], now: number): Promise<Manifest> {
  const { repository, keys } = deps;
  const engines = new Set(dataSets.map((d) => d.engine ?? 'sqlite'));
  if (engines.size > 1) throw new TypeError('takeSnapshot: the data sets of one snapshot are all on one engine');
  const engine = engines.has('postgres') ? 'postgres' : 'sqlite';
  const id = snapshotId(now);
  const scratch = scratchIn(deps.scratchParent ?? tmpdir(), 'backup');
  // New chunks go into packs (packs.ts); pack uploads overlap, up to `uploadWindow` at once.
  const packs = packWriter(repository, keys, { ...(deps.packBytes === undefined ? {} : { packBytes: deps.packBytes }), ...(deps.uploadWindow === undefined ? {} : { window: deps.uploadWindow }) });
  let finished = false;
  try {
    const known = await loadChunkIndex(repository, keys);
    const out: ManifestDataSet[] = [];
    let addedChunks = 0;
    const nameKey = keys.chunkNameKey();
    const removals: Array<Promise<void>> = [];
    /** Names and seals a chunk and packs it, unless the repository holds it already; returns its name. */
    const store = async (plain: Buffer): Promise<string> => {
      const name = keys.chunkName(plain);
      if (!known.has(name) && !packs.has(name)) {
        addedChunks += 1;
        await packs.add(name, plain);
      }
      return name;
    };
    for (const ref of dataSets) {
      const label = labelOf(ref);
      if (ref.engine === 'postgres') {
        const chunks: string[] = [];
        // Progress by tables: how many bytes a schema's rows make is known only at the end.
        const exported = await exportPgSchema(
          ref.pool,
          ref.schema,
          async (plain) => void chunks.push(await store(plain)),
          { chunkBytes: deps.chunkBytes, boundaryKey: boundaryKeyOf(keys), onTable: (tables, total) => deps.progress?.({ phase: 'copy', dataSet: label, done: tables, total }) },
        );
        out.push({ kind: ref.kind, id: ref.id, format: pgRowsFormat, bytes: exported.bytes, chunkBytes: deps.chunkBytes, sha256: exported.sha256, chunks, counts: exported.counts, migrations: exported.migrations });
        continue;
      }
      const chunks: string[] = [];
      let done = 0;
      let total = 0;
      deps.progress?.({ phase: 'copy', dataSet: label, done: 0, total: 1 });
      // The copy and the chunks' names in a worker (sqlite-chunker.ts); here which chunks are new.
      const copy = join(scratch, `${ref.kind}-${ref.id}.db`);
      const { counts, size, chunkBytes, sha256 } = await chunkSqliteDatabase(
        { source: ref.file, copy, chunkBytes: deps.chunkBytes, nameKey, onStart: (info) => (total = info.size), ...(deps.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: deps.memoryLimitBytes }) },
        async (names, data, chunkBytes) => {
          for (let i = 0, at = 0; at < data.length; i += 1, at += chunkBytes) {
            const name = names.toString('hex', i * 16, i * 16 + 16);
            chunks.push(name);
            if (!known.has(name) && !packs.has(name)) {
              addedChunks += 1;
              await packs.add(name, data.subarray(at, Math.min(data.length, at + chunkBytes)));
            }
          }
          done += data.length;
          deps.progress?.({ phase: 'upload', dataSet: label, done, total });
        },
      );
      out.push({ kind: ref.kind, id: ref.id, format: 'sqlite-file/1', bytes: size, chunkBytes, sha256, chunks, counts });
      // Unlinking a large file takes a while: on the thread pool, while the snapshot goes on.
      for (const file of [copy, `${copy}-wal`, `${copy}-shm`]) removals.push(rm(file, { force: true }).catch(() => undefined));
    }
    // The manifest follows stored chunks only: packs durable, then their index.
    await packs.finish(id);
    await Promise.all(removals);
    finished = true;
    const addedBytes = packs.storedBytes();
    const manifest: Manifest = { format: 'tresor-backup-manifest/1', id, takenAt: now, engine, tresorVersion: deps.tresorVersion, keyId: keys.keyId, dataSets: out, added: { chunks: addedChunks, bytes: addedBytes } };
    // Last: the snapshot exists from here on.
    await repository.put(manifestPath(id), keys.sealManifest(id, Buffer.from(JSON.stringify(manifest), 'utf8')));
    return manifest;
  } finally {
    // A failed snapshot does not return while its uploads still run (they would outlive its
    // lock), and leaves no deferred temporaries behind.
    if (!finished) await packs.abandon();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The PostgreSQL data sets of a deployment: the platform's, the key store's and each of these
 * tenants' schemas (pass the operators' realm among them to include it).
 */
export function pgDataSetsOf(storage: Storage, tenantIds: readonly string[]): PgDataSetRef[] {
  const postgres = storage.postgres;
  if (storage.engine !== 'postgres' || postgres === undefined) throw new TypeError('pgDataSetsOf: the storage is not on PostgreSQL');
  const { pool, schemaPrefix } = postgres;
  return [
    { engine: 'postgres', kind: 'platform', id: 'platform', pool, schema: `${schemaPrefix}_platform` },
    { engine: 'postgres', kind: 'keys', id: 'keys', pool, schema: `${schemaPrefix}_keys` },
    ...tenantIds.map((id) => ({ engine: 'postgres' as const, kind: 'tenant' as const, id, pool, schema: storage.describeTenant(id) })),
  ];
}

export async function readManifest(repository: Repository, keys: BackupKeys, id: string): Promise<Manifest> {
  if (!/^[a-z0-9][a-z0-9._-]{0,100}$/.test(id)) throw new BackupError('snapshot-not-found', `no snapshot ${JSON.stringify(id)}`, { status: 404, expose: true });
  let stored: Buffer;
  try {
    stored = await repository.get(manifestPath(id));
  } catch (error) {
    if (error instanceof BackupError && error.code === 'object-missing') throw new BackupError('snapshot-not-found', `no snapshot ${id} in ${repository.display}`, { status: 404, expose: true });
    throw error;
  }
  const manifest = JSON.parse(keys.openManifest(id, stored).toString('utf8')) as Manifest;
  if (manifest.format !== 'tresor-backup-manifest/1' || manifest.id !== id) throw new BackupError('manifest-invalid', `manifest ${id} is not a Tresor snapshot manifest`, { status: 500, expose: true });
  return manifest;
}

/** Every complete snapshot's id, oldest first (a snapshot is complete once its manifest exists). */
export async function listSnapshotIds(repository: Repository): Promise<string[]> {
  return (await repository.list('snapshots'))
    .filter((n) => n.endsWith('.manifest'))
    .map((n) => n.slice('snapshots/'.length, -'.manifest'.length))
    .sort();
}

/** Where a data set's file lives under a data directory (the SQLite layout of storage.ts). */
export function fileOf(dataDir: string, kind: DataSetKind, id: string): string {
  return kind === 'tenant' ? join(dataDir, 'tenants', `${id}.db`) : join(dataDir, `${kind}.db`);
}

/** A chunk of a snapshot, checked twice: its pack's seal (AES-GCM, bound to the pack's name) and its own name (the keyed hash of its content). */
/**
 * A data set's chunks in order, fetched (and checked) up to `window` ahead: reads from the
 * repository overlap, which matters most over SFTP. A failure surfaces at its chunk's turn; the
 * reads already started are awaited, never left running.
 */
async function* fetchChunks(reader: ChunkReader, deps: { repository: Repository; keys: BackupKeys }, manifest: Manifest, label: string, names: readonly string[], window = 16): AsyncGenerator<Buffer> {
  const ahead: Array<Promise<Buffer>> = [];
  let next = 0;
  const fill = () => {
    while (ahead.length < window && next < names.length) {
      const fetching = fetchChunk(reader, deps, manifest, label, names[next] as string);
      fetching.catch(() => undefined); // seen when its turn comes
      ahead.push(fetching);
      next += 1;
    }
  };
  try {
    fill();
    while (ahead.length > 0) {
      const plain = await (ahead.shift() as Promise<Buffer>);
      fill();
      yield plain;
    }
  } finally {
    await Promise.allSettled(ahead);
  }
}

/** A reader over every index of the repository (read once per restore, not per data set). */
const readerOf = async (deps: { repository: Repository; keys: BackupKeys }): Promise<ChunkReader> => chunkReader(deps.repository, deps.keys, await loadChunkIndex(deps.repository, deps.keys));

/** A chunk's plaintext from its pack, with the chunk and data set named in any error (its name is not checked here). */
async function readChunk(reader: ChunkReader, repository: Repository, manifest: Manifest, label: string, name: string): Promise<Buffer> {
  try {
    return await reader.read(name);
  } catch (error) {
    if (error instanceof BackupError && error.code === 'object-missing') throw new BackupError('object-missing', `snapshot ${manifest.id}: chunk ${name} of ${label} is missing from ${repository.display}`, { status: 500, expose: true });
    if (error instanceof BackupError && error.code === 'object-corrupt') throw new BackupError('object-corrupt', `snapshot ${manifest.id}: chunk ${name} of ${label}: ${error.message}`, { status: 500, expose: true });
    throw error;
  }
}

async function fetchChunk(reader: ChunkReader, deps: { repository: Repository; keys: BackupKeys }, manifest: Manifest, label: string, name: string): Promise<Buffer> {
  const plain = await readChunk(reader, deps.repository, manifest, label, name);
  if (deps.keys.chunkName(plain) !== name) throw new BackupError('object-corrupt', `snapshot ${manifest.id}: chunk ${name} of ${label} does not hold what its name says`, { status: 500, expose: true });
  return plain;
}

/**
 * Rebuilds SQLite data sets of a snapshot as files under `targetDir` (same layout as a data
 * directory). Every chunk is checked twice — its pack's seal (AES-GCM, bound to the pack's name)
 * and its own name (the keyed hash of its content) — and every file against its SHA-256 before it takes its
 * final name: a damaged backup fails with the chunk or file named, and leaves no file behind
 * that looks restored. A PostgreSQL data set among the selected ones is refused (restorePgDataSet).
 */
export async function restoreFiles(
  deps: { repository: Repository; keys: BackupKeys; progress?: Progress },
  manifest: Manifest,
  targetDir: string,
  select: (d: ManifestDataSet) => boolean = () => true,
  { durable = true }: { durable?: boolean } = {},
): Promise<Array<{ dataSet: ManifestDataSet; file: string }>> {
  const selected = manifest.dataSets.filter(select);
  const pg = selected.find((d) => formatOf(d) !== 'sqlite-file/1');
  if (pg !== undefined) throw new BackupError('restore-refused', `snapshot ${manifest.id}: ${labelOf(pg)} is a PostgreSQL data set; it is restored into a PostgreSQL schema, not a file`, { status: 409, expose: true });
  const restored: Array<{ dataSet: ManifestDataSet; file: string }> = [];
  const reader = await readerOf(deps);
  const nameKey = deps.keys.chunkNameKey();
  for (const dataSet of selected) {
    const file = fileOf(targetDir, dataSet.kind, dataSet.id);
    const partial = `${file}.restoring`;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const label = labelOf(dataSet);
    // Packs are read and opened here (a few ahead); the file is written by a worker (file-assembler.ts).
    const out = assembleFile(partial, nameKey, { durable });
    let result: { sha256: string; bytes: number };
    try {
      const names = dataSet.chunks;
      let scanned = 0;
      let written = 0;
      for (let i = 0; i < names.length; i += 1) {
        const name = names[i] as string;
        // The next few packs this data set needs (up to 16,384 chunks ahead) are read meanwhile.
        scanned = reader.readAhead(names, Math.max(scanned, i + 1), i + 16_384, 4);
        // Most chunks are in a pack at hand: no promise, no view, one copy into the batch.
        const at = reader.locate(name);
        const pack = at === undefined ? undefined : reader.packAtHand(at);
        let wait: Promise<void> | undefined;
        let length: number;
        if (at !== undefined && pack !== undefined) {
          wait = out.add(name, pack, at.offset, at.length);
          length = at.length;
        } else {
          const plain = await readChunk(reader, deps.repository, manifest, label, name);
          wait = out.add(name, plain, 0, plain.length);
          length = plain.length;
        }
        if (wait !== undefined) await wait;
        written += length;
        if ((i & 255) === 255 || i === names.length - 1) deps.progress?.({ phase: 'download', dataSet: label, done: written, total: dataSet.bytes });
      }
      result = await out.end();
    } catch (error) {
      await out.abort();
      rmSync(partial, { force: true });
      if (error instanceof AssembleError) {
        const chunk = error.chunkIndex === undefined ? undefined : dataSet.chunks[error.chunkIndex];
        if (chunk !== undefined) throw new BackupError('object-corrupt', `snapshot ${manifest.id}: chunk ${chunk} of ${label} does not hold what its name says`, { status: 500, expose: true });
        throw Object.assign(new Error(`snapshot ${manifest.id}: writing ${label}: ${error.message}`), error.code === undefined ? {} : { code: error.code });
      }
      throw error;
    }
    if (result.bytes !== dataSet.bytes || result.sha256 !== dataSet.sha256) {
      rmSync(partial, { force: true });
      throw new BackupError('object-corrupt', `snapshot ${manifest.id}: ${label} does not match its manifest after restoring (size or SHA-256)`, { status: 500, expose: true });
    }
    renameSync(partial, file);
    restored.push({ dataSet, file });
  }
  return restored;
}

/** What restoring a PostgreSQL data set needs besides the repository: the migrations of each kind of data set (`storage.postgres.migrations`). */
export interface PgRestoreDeps {
  readonly repository: Repository;
  readonly keys: BackupKeys;
  readonly migrations: StorageMigrations;
  readonly progress?: Progress;
  /** Clock for the `applied_at` of upgrade migrations. */
  readonly now?: () => number;
}

/**
 * Rebuilds one PostgreSQL data set of a snapshot as the new schema `targetSchema` (which must not
 * exist), in one transaction: every chunk checked like restoreFiles does (seal, name), the whole
 * stream against its size and SHA-256, each table's rows against the manifest's count, all
 * before the commit — a damaged backup leaves no schema behind. A snapshot of an older version
 * is upgraded by the code's later migrations (pg-dataset.ts importPgSchema). Putting the result
 * in the place of a live schema is swapPgSchema's work.
 */
export async function restorePgDataSet(deps: PgRestoreDeps, manifest: Manifest, dataSet: ManifestDataSet, pool: pg.Pool, targetSchema: string): Promise<PgImport> {
  const label = labelOf(dataSet);
  if (formatOf(dataSet) !== pgRowsFormat) throw new BackupError('restore-refused', `snapshot ${manifest.id}: ${label} is a SQLite data set; it is restored as a file (restoreFiles)`, { status: 409, expose: true });
  async function* stream(): AsyncGenerator<Buffer> {
    const whole = createHash('sha256');
    let read = 0;
    for await (const plain of fetchChunks(await readerOf(deps), deps, manifest, label, dataSet.chunks)) {
      whole.update(plain);
      read += plain.length;
      deps.progress?.({ phase: 'download', dataSet: label, done: read, total: dataSet.bytes });
      yield plain;
    }
    if (read !== dataSet.bytes || whole.digest('hex') !== dataSet.sha256) {
      throw new BackupError('object-corrupt', `snapshot ${manifest.id}: ${label} does not match its manifest after restoring (size or SHA-256)`, { status: 500, expose: true });
    }
  }
  return importPgSchema(pool, targetSchema, stream(), deps.migrations[dataSet.kind], {
    expectedCounts: dataSet.counts,
    expectedMigrations: dataSet.migrations ?? [],
    label: `snapshot ${manifest.id}: ${label}`,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
}

export interface VerifyReport {
  readonly id: string;
  readonly dataSets: number;
  readonly bytes: number;
  readonly seconds: number;
}

export interface VerifyDeps {
  readonly repository: Repository;
  readonly keys: BackupKeys;
  readonly progress?: Progress;
  readonly scratchParent?: string;
  /**
   * More checks of each restored tenant data set (the service verifies its audit trail up to the
   * snapshot's end); throws a BackupError to fail the verify.
   */
  readonly checkTenant?: (db: SqlExecutor, tenantId: string, label: string) => Promise<void>;
  /**
   * Whether this deployment can read the restored copy: `keys` gets the restored key store
   * first, then `tenant` each restored tenant with it. Each throws a BackupError to fail the verify.
   */
  readonly checkReadable?: {
    keys(keysDb: SqlDatabase, label: string): Promise<void>;
    tenant(keysDb: SqlDatabase, tenantDb: SqlExecutor, tenantId: string, label: string): Promise<void>;
  };
  /** For snapshots of PostgreSQL data sets: where to rebuild them (`storage.postgres`). */
  readonly postgres?: { readonly pool: pg.Pool; readonly schemaPrefix: string; readonly migrations: StorageMigrations };
}

/** SQLite's own check and the manifest's row counts, on a restored copy. */
export function checkSqliteCopy(file: string, counts: Readonly<Record<string, number>>, label: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (result.length !== 1 || result[0]?.integrity_check !== 'ok') throw new BackupError('object-corrupt', `${label} fails SQLite's integrity check`, { status: 500, expose: true });
  } finally {
    db.close();
  }
  const actual = tableCounts(file);
  for (const [table, count] of Object.entries(counts)) {
    if (actual[table] !== count) throw new BackupError('object-corrupt', `${label} table ${table} has ${actual[table] ?? 0} rows, the manifest says ${count}`, { status: 500, expose: true });
  }
}

/**
 * Verifies a snapshot end to end. SQLite data sets: restores each into a scratch directory (all
 * chunk and file checks of `restoreFiles`), runs SQLite's `integrity_check` on each file, and
 * compares each table's row count with the manifest's. PostgreSQL data sets: rebuilds each into
 * a scratch schema `<prefix>_verify_<hex>` (all checks of `restorePgDataSet`: seals, names, the
 * stream's SHA-256, every table's count, the migrations applying), and always drops it again.
 */
export async function verifySnapshot(deps: VerifyDeps, id: string): Promise<VerifyReport> {
  const started = performance.now();
  const manifest = await readManifest(deps.repository, deps.keys, id);
  // The key store first: each tenant is then checked for readability with it.
  const pgDataSets = manifest.dataSets.filter((d) => formatOf(d) === pgRowsFormat).sort((a, b) => Number(b.kind === 'keys') - Number(a.kind === 'keys'));
  const postgres = deps.postgres;
  if (pgDataSets.length > 0 && postgres === undefined) {
    throw new BackupError('restore-refused', `snapshot ${id} holds PostgreSQL data sets: verifying it needs a PostgreSQL storage to rebuild them in`, { status: 409, expose: true });
  }
  const scratch = scratchIn(deps.scratchParent ?? tmpdir(), 'verify');
  const schemas: string[] = [];
  try {
    // Checked, then removed: no fsync (a flush of the whole file would hold up the server's own commits).
    const restored = await restoreFiles(deps, manifest, scratch, (d) => formatOf(d) === 'sqlite-file/1', { durable: false });
    for (const { dataSet, file } of restored) {
      const label = labelOf(dataSet);
      deps.progress?.({ phase: 'check', dataSet: label, done: 0, total: 1 });
      checkSqliteCopy(file, dataSet.counts, `snapshot ${id}: ${label}`);
      if (dataSet.kind === 'tenant' && deps.checkTenant !== undefined) {
        const db = openSqliteDatabase(file);
        try {
          await deps.checkTenant(db, dataSet.id, `snapshot ${id}: ${label}`);
        } finally {
          await db.close();
        }
      }
    }
    const keysFile = restored.find((r) => r.dataSet.kind === 'keys')?.file;
    if (deps.checkReadable !== undefined && keysFile !== undefined) {
      const keysDb = openSqliteDatabase(keysFile);
      try {
        await deps.checkReadable.keys(keysDb, `snapshot ${id}`);
        for (const { dataSet, file } of restored) {
          if (dataSet.kind !== 'tenant') continue;
          const db = openSqliteDatabase(file);
          try {
            await deps.checkReadable.tenant(keysDb, db, dataSet.id, `snapshot ${id}: ${labelOf(dataSet)}`);
          } finally {
            await db.close();
          }
        }
      } finally {
        await keysDb.close();
      }
    }
    if (postgres !== undefined) {
      let keysDb: SqlDatabase | undefined;
      for (const dataSet of pgDataSets) {
        const schema = `${postgres.schemaPrefix}_verify_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        await restorePgDataSet({ ...deps, migrations: postgres.migrations }, manifest, dataSet, postgres.pool, schema);
        const db = openPostgresDatabase(postgres.pool, schema);
        const label = `snapshot ${id}: ${labelOf(dataSet)}`;
        if (dataSet.kind === 'keys' && deps.checkReadable !== undefined) {
          keysDb = db;
          await deps.checkReadable.keys(db, `snapshot ${id}`);
        }
        if (dataSet.kind !== 'tenant') continue;
        if (deps.checkTenant !== undefined) await deps.checkTenant(db, dataSet.id, label);
        if (keysDb !== undefined) await deps.checkReadable?.tenant(keysDb, db, dataSet.id, label);
        // A tenant's copy goes as soon as it is checked; the key store's stays until the end.
        await dropPgSchema(postgres.pool, schemas.pop() as string);
      }
    }
    return { id, dataSets: restored.length + pgDataSets.length, bytes: manifest.dataSets.reduce((n, d) => n + d.bytes, 0), seconds: (performance.now() - started) / 1000 };
  } finally {
    // The import rolls back on failure; this drops a verified copy (and anything left otherwise).
    if (postgres !== undefined) for (const schema of schemas) await dropPgSchema(postgres.pool, schema).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
