import { randomBytes } from 'node:crypto';
import type { BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import { prunePacks } from './packs.js';
import type { Repository } from './repository.js';
import { listSnapshotIds, manifestPath, readManifest, type Manifest } from './snapshots.js';

/**
 * What the repository knows besides snapshots: which snapshots a full verify has proven
 * restorable (a sealed, signed marker beside each manifest, so a repository cannot claim one),
 * and the removal of snapshots and of packs no snapshot uses any more (packs.ts).
 */
export interface VerifiedMarker {
  readonly format: 'tresor-backup-verified/1';
  readonly id: string;
  /** When the verify passed, ms since the epoch. */
  readonly verifiedAt: number;
  /** How long restoring and checking took (the measured RTO of this snapshot). */
  readonly seconds: number;
  readonly bytes: number;
}

const verifiedPath = (id: string) => `snapshots/${id}.verified`;
const verifiedSealId = (id: string) => `verified|${id}`;

export async function markVerified(repository: Repository, keys: BackupKeys, marker: Omit<VerifiedMarker, 'format'>): Promise<void> {
  const body: VerifiedMarker = { format: 'tresor-backup-verified/1', ...marker };
  await repository.put(verifiedPath(marker.id), keys.sealManifest(verifiedSealId(marker.id), Buffer.from(JSON.stringify(body), 'utf8')));
}

/** The snapshot's verified marker; undefined when there is none or it does not open under this key. */
export async function readVerified(repository: Repository, keys: BackupKeys, id: string): Promise<VerifiedMarker | undefined> {
  let stored: Buffer;
  try {
    stored = await repository.get(verifiedPath(id));
  } catch (error) {
    if (error instanceof BackupError && error.code === 'object-missing') return undefined;
    throw error;
  }
  try {
    const marker = JSON.parse(keys.openManifest(verifiedSealId(id), stored).toString('utf8')) as VerifiedMarker;
    return marker.format === 'tresor-backup-verified/1' && marker.id === id ? marker : undefined;
  } catch {
    // A marker that does not verify proves nothing: the snapshot counts as unverified.
    return undefined;
  }
}

export interface SnapshotSummary {
  readonly manifest: Manifest;
  readonly verified: VerifiedMarker | undefined;
}

/** Every complete snapshot with its manifest and verified marker, oldest first. */
export async function summarise(repository: Repository, keys: BackupKeys): Promise<SnapshotSummary[]> {
  const out: SnapshotSummary[] = [];
  for (const id of await listSnapshotIds(repository)) {
    out.push({ manifest: await readManifest(repository, keys, id), verified: await readVerified(repository, keys, id) });
  }
  return out;
}

/** When a snapshot was taken, read from its id (snapshotId: the UTC time comes first). */
export function takenAtOfId(id: string): number {
  const match = /^(\d{4}-\d{2}-\d{2})t(\d{2})-(\d{2})-(\d{2})-(\d{3})z-/.exec(id);
  return match === null ? Number.NaN : Date.parse(`${match[1]}T${match[2]}:${match[3]}:${match[4]}.${match[5]}Z`);
}

/**
 * What retention needs, from one listing and without reading any manifest (a manifest of a
 * large data set is megabytes): each snapshot's id, time and whether a verified marker is
 * there; the newest marked one's marker is opened, so a planted marker cannot protect it.
 */
export async function snapshotRefs(repository: Repository, keys: BackupKeys): Promise<Array<{ id: string; takenAt: number; verified: boolean }>> {
  const names = await repository.list('snapshots');
  const marked = new Set(names.filter((n) => n.endsWith('.verified')).map((n) => n.slice('snapshots/'.length, -'.verified'.length)));
  const ids = names.filter((n) => n.endsWith('.manifest')).map((n) => n.slice('snapshots/'.length, -'.manifest'.length)).sort();
  let newestVerified: string | undefined;
  for (const id of [...ids].reverse()) {
    if (marked.has(id) && (await readVerified(repository, keys, id)) !== undefined) {
      newestVerified = id;
      break;
    }
  }
  return ids.map((id) => ({ id, takenAt: takenAtOfId(id), verified: id === newestVerified }));
}

/**
 * Deletes snapshots: the manifest first (the snapshot is gone from that moment on), then its
 * marker. Chunks are left to `pruneChunks`, which knows what the remaining snapshots still use.
 */
export async function deleteSnapshots(repository: Repository, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await repository.delete(manifestPath(id));
    await repository.delete(verifiedPath(id));
  }
}

/**
 * Deletes every pack no remaining snapshot uses a chunk of (packs.ts), and markers left without
 * their manifest. Only under the repository's exclusive lock (lock.ts): a backup running at the
 * same time may have decided to reuse a chunk it saw in an index. Reads every manifest first; a
 * manifest that cannot be read stops the prune before anything is deleted (its chunks would be lost).
 */
export async function pruneChunks(repository: Repository, keys: BackupKeys): Promise<{ chunks: number; packs: number; markers: number }> {
  const ids = await listSnapshotIds(repository);
  const referenced = new Set<string>();
  for (const id of ids) for (const dataSet of (await readManifest(repository, keys, id)).dataSets) for (const chunk of dataSet.chunks) referenced.add(chunk);
  const { packs, chunks } = await prunePacks(repository, keys, referenced, `p-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
  const live = new Set(ids);
  let markers = 0;
  for (const object of await repository.list('snapshots')) {
    if (!object.endsWith('.verified')) continue;
    if (live.has(object.slice('snapshots/'.length, -'.verified'.length))) continue;
    await repository.delete(object);
    markers += 1;
  }
  return { chunks, packs, markers };
}
