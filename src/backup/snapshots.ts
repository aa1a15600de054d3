import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import type { Repository } from './repository.js';
import { copySqliteDatabase } from './sqlite-copy.js';

/**
 * Snapshots of SQLite data sets into a repository (SPEC B1–B3).
 *
 * A snapshot copies each data set consistently (sqlite-copy.ts), cuts the copy into fixed-size
 * chunks aligned to SQLite pages, names each chunk by a keyed hash of its content, and uploads,
 * sealed, only chunks the repository does not hold yet: a 15-minute snapshot of a large,
 * little-changed data set stores roughly the pages that changed. The manifest — which data sets,
 * which chunks in which order, sizes, SHA-256 of each whole file, row counts per table — is
 * sealed and signed and written last, atomically: a snapshot exists once its manifest does, so
 * a backup that dies half-way leaves only unreferenced chunks (removed by `prune`), never a
 * snapshot that claims to be complete.
 */

export type DataSetKind = 'platform' | 'keys' | 'tenant';

export interface DataSetRef {
  readonly kind: DataSetKind;
  /** The tenant id (for `tenant`), else the kind. */
  readonly id: string;
  /** The live SQLite file. */
  readonly file: string;
}

export interface ManifestDataSet {
  readonly kind: DataSetKind;
  readonly id: string;
  readonly bytes: number;
  readonly chunkBytes: number;
  /** SHA-256 of the whole file, hex. */
  readonly sha256: string;
  readonly chunks: readonly string[];
  /** Rows per table at snapshot time (a restore must give the same). */
  readonly counts: Readonly<Record<string, number>>;
}

export interface Manifest {
  readonly format: 'tresor-backup-manifest/1';
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly takenAt: number;
  readonly engine: 'sqlite';
  readonly tresorVersion: string;
  readonly keyId: string;
  readonly dataSets: readonly ManifestDataSet[];
  /** What this snapshot added to the repository. */
  readonly added: { readonly chunks: number; readonly bytes: number };
}

export interface Progress {
  (event: { readonly phase: 'copy' | 'upload' | 'download' | 'check'; readonly dataSet: string; readonly done: number; readonly total: number }): void;
}

const chunkPath = (name: string) => `chunks/${name.slice(0, 2)}/${name}`;
export const manifestPath = (id: string) => `snapshots/${id}.manifest`;

/** A sortable snapshot id: its UTC time, then randomness (`2026-12-01t14-15-00-123z-9f2c1a`). */
export function snapshotId(now: number): string {
  return `${new Date(now).toISOString().toLowerCase().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

function pageSizeOf(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(100);
    readSync(fd, header, 0, 100, 0);
    const raw = header.readUInt16BE(16);
    return raw === 1 ? 65536 : raw;
  } finally {
    closeSync(fd);
  }
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
export function scratchIn(parent: string, purpose: 'backup' | 'verify'): string {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  removeStaleScratch(parent);
  return mkdtempSync(join(parent, `.${purpose}-${process.pid}-`));
}

/** Removes scratch directories of processes that no longer run (a backup or verify killed with -9). */
export function removeStaleScratch(parent: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    const match = /^\.(?:backup|verify)-(\d+)-/.exec(name);
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
  readonly tresorVersion: string;
  /** Chunk size in bytes; rounded up to a multiple of the file's page size. */
  readonly chunkBytes: number;
  readonly progress?: Progress;
}

/** Takes one snapshot of these data sets; returns its manifest once the manifest is stored. */
export async function takeSnapshot(deps: SnapshotDeps, dataSets: readonly DataSetRef[], now: number): Promise<Manifest> {
  const { repository, keys } = deps;
  const id = snapshotId(now);
  const scratch = scratchIn(deps.scratchParent ?? tmpdir(), 'backup');
  try {
    const known = new Set((await repository.list('chunks')).map((n) => n.slice(n.lastIndexOf('/') + 1)));
    const out: ManifestDataSet[] = [];
    let addedChunks = 0;
    let addedBytes = 0;
    for (const ref of dataSets) {
      const label = ref.kind === 'tenant' ? `tenant ${ref.id}` : ref.kind;
      const copy = join(scratch, `${ref.kind}-${ref.id}.db`);
      deps.progress?.({ phase: 'copy', dataSet: label, done: 0, total: 1 });
      await copySqliteDatabase(ref.file, copy);
      const pageSize = pageSizeOf(copy);
      const chunkBytes = Math.max(pageSize, Math.ceil(deps.chunkBytes / pageSize) * pageSize);
      const size = statSync(copy).size;
      const whole = createHash('sha256');
      const chunks: string[] = [];
      const fd = openSync(copy, 'r');
      try {
        const buffer = Buffer.alloc(chunkBytes);
        for (let offset = 0; offset < size; offset += chunkBytes) {
          const read = readSync(fd, buffer, 0, chunkBytes, offset);
          const plain = buffer.subarray(0, read);
          whole.update(plain);
          const name = keys.chunkName(plain);
          chunks.push(name);
          if (!known.has(name)) {
            const sealed = keys.sealChunk(name, plain);
            await repository.put(chunkPath(name), sealed);
            known.add(name);
            addedChunks += 1;
            addedBytes += sealed.length;
          }
          deps.progress?.({ phase: 'upload', dataSet: label, done: Math.min(size, offset + read), total: size });
        }
      } finally {
        closeSync(fd);
      }
      out.push({ kind: ref.kind, id: ref.id, bytes: size, chunkBytes, sha256: whole.digest('hex'), chunks, counts: tableCounts(copy) });
      rmSync(copy, { force: true });
    }
    const manifest: Manifest = { format: 'tresor-backup-manifest/1', id, takenAt: now, engine: 'sqlite', tresorVersion: deps.tresorVersion, keyId: keys.keyId, dataSets: out, added: { chunks: addedChunks, bytes: addedBytes } };
    // Last: the snapshot exists from here on.
    await repository.put(manifestPath(id), keys.sealManifest(id, Buffer.from(JSON.stringify(manifest), 'utf8')));
    return manifest;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
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

/**
 * Rebuilds data sets of a snapshot as files under `targetDir` (same layout as a data
 * directory). Every chunk is checked twice — its seal (AES-GCM, bound to its name) and its name
 * (the keyed hash of what it opened to) — and every file against its SHA-256 before it takes its
 * final name: a damaged backup fails with the chunk or file named, and leaves no file behind
 * that looks restored.
 */
export async function restoreFiles(
  deps: { repository: Repository; keys: BackupKeys; progress?: Progress },
  manifest: Manifest,
  targetDir: string,
  select: (d: ManifestDataSet) => boolean = () => true,
): Promise<Array<{ dataSet: ManifestDataSet; file: string }>> {
  const restored: Array<{ dataSet: ManifestDataSet; file: string }> = [];
  for (const dataSet of manifest.dataSets.filter(select)) {
    const file = fileOf(targetDir, dataSet.kind, dataSet.id);
    const partial = `${file}.restoring`;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const label = dataSet.kind === 'tenant' ? `tenant ${dataSet.id}` : dataSet.kind;
    const fd = openSync(partial, 'w', 0o600);
    const whole = createHash('sha256');
    let written = 0;
    try {
      for (const name of dataSet.chunks) {
        let sealed: Buffer;
        try {
          sealed = await deps.repository.get(chunkPath(name));
        } catch (error) {
          if (error instanceof BackupError && error.code === 'object-missing') throw new BackupError('object-missing', `snapshot ${manifest.id}: chunk ${name} of ${label} is missing from ${deps.repository.display}`, { status: 500, expose: true });
          throw error;
        }
        const plain = deps.keys.openChunk(name, sealed);
        if (deps.keys.chunkName(plain) !== name) throw new BackupError('object-corrupt', `snapshot ${manifest.id}: chunk ${name} of ${label} does not hold what its name says`, { status: 500, expose: true });
        writeSync(fd, plain);
        whole.update(plain);
        written += plain.length;
        deps.progress?.({ phase: 'download', dataSet: label, done: written, total: dataSet.bytes });
      }
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(partial, { force: true });
      throw error;
    }
    closeSync(fd);
    if (written !== dataSet.bytes || whole.digest('hex') !== dataSet.sha256) {
      rmSync(partial, { force: true });
      throw new BackupError('object-corrupt', `snapshot ${manifest.id}: ${label} does not match its manifest after restoring (size or SHA-256)`, { status: 500, expose: true });
    }
    renameSync(partial, file);
    restored.push({ dataSet, file });
  }
  return restored;
}

export interface VerifyReport {
  readonly id: string;
  readonly dataSets: number;
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * Verifies a snapshot end to end: restores every data set into a scratch directory (all chunk
 * and file checks of `restoreFiles`), runs SQLite's `integrity_check` on each file, and compares
 * each table's row count with the manifest's.
 */
export async function verifySnapshot(deps: { repository: Repository; keys: BackupKeys; progress?: Progress; scratchParent?: string }, id: string): Promise<VerifyReport> {
  const started = performance.now();
  const manifest = await readManifest(deps.repository, deps.keys, id);
  const scratch = scratchIn(deps.scratchParent ?? tmpdir(), 'verify');
  try {
    const restored = await restoreFiles(deps, manifest, scratch);
    for (const { dataSet, file } of restored) {
      const label = dataSet.kind === 'tenant' ? `tenant ${dataSet.id}` : dataSet.kind;
      deps.progress?.({ phase: 'check', dataSet: label, done: 0, total: 1 });
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const result = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
        if (result.length !== 1 || result[0]?.integrity_check !== 'ok') throw new BackupError('object-corrupt', `snapshot ${id}: ${label} fails SQLite's integrity check`, { status: 500, expose: true });
      } finally {
        db.close();
      }
      const counts = tableCounts(file);
      for (const [table, count] of Object.entries(dataSet.counts)) {
        if (counts[table] !== count) throw new BackupError('object-corrupt', `snapshot ${id}: ${label} table ${table} has ${counts[table] ?? 0} rows, the manifest says ${count}`, { status: 500, expose: true });
      }
    }
    return { id, dataSets: restored.length, bytes: restored.reduce((n, r) => n + r.dataSet.bytes, 0), seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
