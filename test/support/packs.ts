import type { BackupKeys } from '../../src/backup/backup-keys.js';
import { loadChunkIndex, type ChunkLocation } from '../../src/backup/packs.js';
import type { Repository } from '../../src/backup/repository.js';

/** Where a chunk is (its pack, and its place in the pack's plaintext), from the repository's indexes. */
export async function locateChunk(repository: Repository, keys: BackupKeys, name: string): Promise<ChunkLocation> {
  const at = (await loadChunkIndex(repository, keys)).get(name);
  if (at === undefined) throw new Error(`chunk ${name} is in no index`);
  return at;
}

/**
 * Flips one bit of the sealed pack that holds the chunk, as damage on the disk or a hostile
 * repository would; returns a function that puts the pack back.
 */
export async function damagePackOf(repository: Repository, keys: BackupKeys, name: string): Promise<() => Promise<void>> {
  const at = await locateChunk(repository, keys, name);
  const original = await repository.get(at.pack);
  const damaged = Buffer.from(original);
  damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] as number) ^ 1;
  await repository.put(at.pack, damaged);
  return () => repository.put(at.pack, original);
}
