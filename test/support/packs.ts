import type { BackupKeys } from '../../src/backup/backup-keys.js';
import { loadChunkIndex, type ChunkLocation } from '../../src/backup/packs.js';
import type { Repository } from '../../src/backup/repository.js';

/** Where a chunk is (its pack, offset and length), from the repository's indexes. */
export async function locateChunk(repository: Repository, keys: BackupKeys, name: string): Promise<ChunkLocation> {
  const at = (await loadChunkIndex(repository, keys)).get(name);
  if (at === undefined) throw new Error(`chunk ${name} is in no index`);
  return at;
}

/**
 * Changes one stored chunk in place (the same length: `edit` gets and returns its sealed bytes),
 * as damage on the disk or a hostile repository would; returns a function that puts it back.
 */
export async function editChunk(repository: Repository, keys: BackupKeys, name: string, edit: (sealed: Buffer) => Buffer): Promise<() => Promise<void>> {
  const at = await locateChunk(repository, keys, name);
  const original = await repository.get(at.pack);
  const changed = Buffer.from(original);
  const replacement = edit(Buffer.from(original.subarray(at.offset, at.offset + at.length)));
  replacement.copy(changed, at.offset, 0, Math.min(replacement.length, at.length));
  await repository.put(at.pack, changed);
  return () => repository.put(at.pack, original);
}

/** Flips one bit of a stored chunk's ciphertext. */
export const flipBit = (sealed: Buffer): Buffer => {
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 1;
  return flipped;
};
