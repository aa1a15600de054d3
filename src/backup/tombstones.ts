import { shredDataKeys } from '../keys/store.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import type { BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import type { Repository } from './repository.js';

/**
 * Erasure that a restore cannot undo (issue #7.6). Crypto-shredding destroys a patient's data
 * keys in the live key store; but last month's snapshot of the key store still holds them,
 * wrapped. So next to the snapshots the repository keeps one list of every subject whose keys
 * were ever destroyed — a tombstone each — that only grows: every backup merges the live key
 * store's shredded subjects into it, and no retention or restore ever removes one. Every
 * restore re-applies the whole list (and the live key store's, when there is one) to the key
 * store it restores, before anything can read from it: a patient erased today stays unreadable
 * after restoring any older snapshot.
 *
 * The list is sealed and signed with the backup key like a manifest (a repository cannot forge,
 * drop or swap entries unnoticed), and holds tenant ids and `Patient/<id>` subjects only.
 */
export interface Tombstone {
  readonly tenant: string;
  readonly subject: string;
  /** When the subject's keys were destroyed (the earliest time seen), ms since the epoch. */
  readonly shreddedAt: number;
}

interface TombstoneList {
  readonly format: 'tresor-backup-tombstones/1';
  readonly tombstones: readonly Tombstone[];
}

export const tombstonesObject = 'tombstones/list';
const sealId = 'tombstones';

const keyOf = (t: Pick<Tombstone, 'tenant' | 'subject'>) => `${t.tenant}\u0000${t.subject}`;

/** Every subject the live key store has destroyed keys of. */
export async function liveTombstones(keysDb: SqlExecutor): Promise<Tombstone[]> {
  const rows = await keysDb.query<{ tenant_id: string; subject: string; at: number | string | null }>(
    `SELECT tenant_id, subject, MIN(shredded_at) AS at FROM ${keysDb.table('data_keys')} WHERE wrapped IS NULL GROUP BY tenant_id, subject ORDER BY tenant_id, subject`,
  );
  return rows.map((r) => ({ tenant: r.tenant_id, subject: r.subject, shreddedAt: Number(r.at ?? 0) }));
}

/** The repository's list (empty when none was written yet). A damaged or forged list is an error, never "no tombstones". */
export async function readTombstones(repository: Repository, keys: BackupKeys): Promise<Tombstone[]> {
  if (!(await repository.has(tombstonesObject))) return [];
  const list = JSON.parse(keys.openManifest(sealId, await repository.get(tombstonesObject)).toString('utf8')) as TombstoneList;
  if (list.format !== 'tresor-backup-tombstones/1' || !Array.isArray(list.tombstones)) throw new BackupError('manifest-invalid', `the tombstone list in ${repository.display} is not a Tresor tombstone list`, { status: 500, expose: true });
  return [...list.tombstones];
}

/** The union of lists; for a subject in several, the earliest time. Sorted, so equal sets give equal lists. */
export function mergeTombstones(...lists: ReadonlyArray<readonly Tombstone[]>): Tombstone[] {
  const merged = new Map<string, Tombstone>();
  for (const list of lists) {
    for (const t of list) {
      const seen = merged.get(keyOf(t));
      if (seen === undefined || t.shreddedAt < seen.shreddedAt) merged.set(keyOf(t), { tenant: t.tenant, subject: t.subject, shreddedAt: t.shreddedAt });
    }
  }
  return [...merged.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

/**
 * Merges `found` into the repository's list and writes it back when it grew (atomically: the
 * repository's put is all or nothing). Returns the whole list and how many were new. Called by
 * every backup under its repository lock.
 */
export async function recordTombstones(repository: Repository, keys: BackupKeys, found: readonly Tombstone[]): Promise<{ tombstones: Tombstone[]; added: number }> {
  const stored = await readTombstones(repository, keys);
  const merged = mergeTombstones(stored, found);
  if (merged.length !== stored.length) {
    const list: TombstoneList = { format: 'tresor-backup-tombstones/1', tombstones: merged };
    await repository.put(tombstonesObject, keys.sealManifest(sealId, Buffer.from(JSON.stringify(list), 'utf8')));
  }
  return { tombstones: merged, added: merged.length - stored.length };
}

/**
 * Destroys, in a restored key store, every key version of every tombstoned subject (of `tenant`
 * only, when given), then scrubs the old bytes out of its files. Returns key versions destroyed.
 */
export async function applyTombstones(keysDb: SqlDatabase, tombstones: readonly Tombstone[], tenant?: string): Promise<number> {
  const relevant = tombstones.filter((t) => tenant === undefined || t.tenant === tenant);
  if (relevant.length === 0) return 0;
  const destroyed = await keysDb.transaction(async (tx) => {
    let count = 0;
    for (const t of relevant) count += await shredDataKeys(tx, t.tenant, t.subject, t.shreddedAt);
    return count;
  });
  if (destroyed > 0) await keysDb.scrub();
  return destroyed;
}

/**
 * Tombstoned subjects that still hold a usable (wrapped) key version in `keysDb`: what a restore
 * that bypassed Tresor (pgBackRest's point-in-time recovery, a disk or VM snapshot) brought back.
 */
export async function resurrectedTombstones(keysDb: SqlExecutor, tombstones: readonly Tombstone[]): Promise<Tombstone[]> {
  const found: Tombstone[] = [];
  for (const t of tombstones) {
    const rows = await keysDb.query<{ one: number }>(`SELECT 1 AS one FROM ${keysDb.table('data_keys')} WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL LIMIT 1`, [t.tenant, t.subject]);
    if (rows.length > 0) found.push(t);
  }
  return found;
}

export interface ErasuresReapplied {
  /** Tombstones known (the repository's list and the key store's own). */
  readonly tombstones: number;
  /** Subjects whose destroyed keys had come back, and were destroyed again. */
  readonly resurrected: readonly Tombstone[];
  readonly keysDestroyed: number;
}

/**
 * After a restore Tresor did not make itself: destroys again every key version a tombstone
 * covers, tenant by tenant, and hands each tenant's resurrected subjects to `reerase` (records
 * marked erased, accounts removed, the tenant's trail told). Idempotent: on a key store nothing
 * was rolled back in, it reads and changes nothing.
 */
export async function reapplyTombstones(
  keysDb: SqlDatabase,
  tombstones: readonly Tombstone[],
  reerase: (tenantId: string, subjects: readonly string[], keysDestroyed: number) => Promise<void>,
): Promise<ErasuresReapplied> {
  const resurrected = await resurrectedTombstones(keysDb, tombstones);
  let keysDestroyed = 0;
  for (const tenant of [...new Set(resurrected.map((t) => t.tenant))]) {
    const destroyed = await applyTombstones(keysDb, resurrected, tenant);
    keysDestroyed += destroyed;
    await reerase(tenant, resurrected.filter((t) => t.tenant === tenant).map((t) => t.subject), destroyed);
  }
  return { tombstones: tombstones.length, resurrected, keysDestroyed };
}
