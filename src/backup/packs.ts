import { randomBytes } from 'node:crypto';
import type { BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import type { Repository } from './repository.js';

/**
 * Where sealed chunks live in the repository: packed, many to an object (as restic and borg
 * do). One object per chunk made a gigabyte 65,000 objects, each a file creation and a rename
 * (or a round trip over SFTP) — the snapshot's and the restore's bottleneck. A pack is the
 * sealed chunks of one snapshot written one after another, up to `packBytes`, under a random
 * name (`packs/3f/3f9a….pack`): it says nothing about what it holds. Which chunk is where is
 * in the snapshot's **index** (`index/<snapshot id>.index`: sealed and signed like a manifest,
 * so a repository can neither read nor forge it), written after its packs are durable and
 * before the manifest. A pack is the chunks' plaintext, compressed as one (LZ4, on the thread
 * pool) and sealed as one (AES-256-GCM, its name as associated data): per-chunk work is a hash
 * and a copy, and pages compress better together. Every read checks the pack's seal and each
 * chunk's name (the keyed hash of its content), so a damaged or swapped pack is found.
 */
export interface ChunkLocation {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
}

type Entry = [name: string, offset: number, length: number];

/**
 * An index, binary (a gigabyte in page-sized chunks is 262,144 entries: as JSON it took most of a
 * second to parse, on the event loop): the line `tresor-backup-index/2`, then per pack its name's
 * length (u8) and name, its entry count (u32), and per entry the chunk name (16 bytes), offset
 * and length (u32 each, big-endian).
 */
const indexMagic = Buffer.from('tresor-backup-index/2\n', 'utf8');

function encodeIndex(packs: Readonly<Record<string, readonly Entry[]>>): Buffer {
  const parts: Buffer[] = [indexMagic];
  for (const [pack, entries] of Object.entries(packs)) {
    const name = Buffer.from(pack, 'utf8');
    const head = Buffer.alloc(5 + name.length);
    head.writeUInt8(name.length, 0);
    name.copy(head, 1);
    head.writeUInt32BE(entries.length, 1 + name.length);
    const body = Buffer.alloc(entries.length * 24);
    entries.forEach(([chunk, offset, length], i) => {
      body.write(chunk, i * 24, 16, 'hex');
      body.writeUInt32BE(offset, i * 24 + 16);
      body.writeUInt32BE(length, i * 24 + 20);
    });
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

/** Calls `visit` per pack; gives the event loop back between packs. */
async function decodeIndex(data: Buffer, id: string, visit: (pack: string, entries: Entry[]) => void): Promise<void> {
  const invalid = () => new BackupError('manifest-invalid', `index ${id} is not a Tresor pack index`, { status: 500, expose: true });
  if (data.length < indexMagic.length || !data.subarray(0, indexMagic.length).equals(indexMagic)) throw invalid();
  let at = indexMagic.length;
  while (at < data.length) {
    if (at + 1 > data.length) throw invalid();
    const nameLength = data.readUInt8(at);
    if (at + 5 + nameLength > data.length) throw invalid();
    const pack = data.toString('utf8', at + 1, at + 1 + nameLength);
    const count = data.readUInt32BE(at + 1 + nameLength);
    at += 5 + nameLength;
    if (at + count * 24 > data.length) throw invalid();
    const entries: Entry[] = new Array(count);
    for (let i = 0; i < count; i++, at += 24) entries[i] = [data.toString('hex', at, at + 16), data.readUInt32BE(at + 16), data.readUInt32BE(at + 20)];
    visit(pack, entries);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Every index object's packs and entries. */
async function readIndexes(repository: Repository, keys: BackupKeys, objects: readonly string[], visit: (pack: string, entries: Entry[]) => void): Promise<void> {
  for (const object of objects) {
    const id = object.slice(indexPrefix.length + 1, -'.index'.length);
    await decodeIndex(keys.openManifest(indexSealId(id), await repository.get(object)), id, visit);
  }
}

export const indexPrefix = 'index';
const indexPath = (id: string) => `${indexPrefix}/${id}.index`;
const indexSealId = (id: string) => `index|${id}`;
const packName = () => {
  const id = randomBytes(16).toString('hex');
  return `packs/${id.slice(0, 2)}/${id}.pack`;
};

/** Every index of the repository, merged: chunk name → where it is. */
export async function loadChunkIndex(repository: Repository, keys: BackupKeys): Promise<Map<string, ChunkLocation>> {
  const index = new Map<string, ChunkLocation>();
  const objects = (await repository.list(indexPrefix)).filter((o) => o.endsWith('.index'));
  await readIndexes(repository, keys, objects, (pack, entries) => {
    for (const [name, offset, length] of entries) index.set(name, { pack, offset, length });
  });
  return index;
}

async function writeIndex(repository: Repository, keys: BackupKeys, id: string, packs: Readonly<Record<string, readonly Entry[]>>): Promise<void> {
  await repository.put(indexPath(id), keys.sealManifest(indexSealId(id), encodeIndex(packs)));
}

export interface PackWriter {
  /** Whether this writer took the chunk already (within one snapshot). */
  has(name: string): boolean;
  /** Adds a chunk (copied); resolves when there is room for more (packs sealed and uploaded up to `window` at once). */
  add(name: string, plain: Uint8Array): Promise<void>;
  /** Bytes stored so far (sealed packs). */
  storedBytes(): number;
  /** Stores the last pack, waits for every upload, makes them durable, then writes the index. */
  finish(indexId: string): Promise<void>;
  /** After a failure: waits for uploads still running and drops what was not made durable. */
  abandon(): Promise<void>;
}

export function packWriter(repository: Repository, keys: BackupKeys, { packBytes = 8 * 1024 * 1024, window = 4 }: { packBytes?: number; window?: number } = {}): PackWriter {
  const written: Record<string, Entry[]> = {};
  const taken = new Set<string>();
  // Chunks are copied into a pack's buffer as they come; a buffer is reused once its pack is
  // sealed (at most `window` + 1 of them: fresh memory for every pack cost more than packing).
  const spare: Buffer[] = [];
  let current: Buffer | undefined;
  let entries: Entry[] = [];
  let size = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let stored = 0;

  const seal = () => {
    if (current === undefined || size === 0) return;
    const name = packName();
    const buffer = current;
    const plain = buffer.subarray(0, size);
    written[name] = entries;
    current = undefined;
    entries = [];
    size = 0;
    const put: Promise<void> = keys
      .sealPack(name, plain)
      .then((sealed) => {
        // Sealed is a new buffer: the plaintext's can take the next pack.
        if (buffer.length === packBytes) spare.push(buffer);
        stored += sealed.length;
        return repository.put(name, sealed, { deferred: true });
      })
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => inFlight.delete(put));
    inFlight.add(put);
  };

  return {
    has: (name) => taken.has(name),
    storedBytes: () => stored,
    async add(name, plain) {
      if (failure !== undefined) throw failure.error;
      taken.add(name);
      if (current !== undefined && size + plain.length > current.length) {
        seal();
        while (inFlight.size >= window) await Promise.race(inFlight);
      }
      // A chunk larger than a pack (pg-rows chunks can be) gets a pack of its own size.
      current ??= plain.length > packBytes ? Buffer.allocUnsafeSlow(plain.length) : (spare.pop() ?? Buffer.allocUnsafeSlow(packBytes));
      entries.push([name, size, plain.length]);
      current.set(plain, size);
      size += plain.length;
    },
    async finish(indexId) {
      seal();
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure.error;
      await repository.flush?.();
      // Only after the packs are durable: an index never names a pack that is not there.
      if (Object.keys(written).length > 0) await writeIndex(repository, keys, indexId, written);
    },
    async abandon() {
      await Promise.allSettled(inFlight);
      await repository.discard?.().catch(() => undefined);
    },
  };
}

/**
 * Reads chunks by name (their plaintext; the caller checks each name). A pack is read and
 * opened whole, once, and the last `keep` packs stay in memory: a restore asks for a data set's
 * chunks in order, and a snapshot packs new chunks in that same order, so consecutive chunks
 * mostly share a pack.
 */
export interface ChunkReader {
  /** A chunk's plaintext (a view into its opened pack; the caller checks its name). */
  read(name: string): Promise<Buffer>;
  /** Where a chunk is (its index entry), if any index names it. */
  locate(name: string): ChunkLocation | undefined;
  /**
   * The restore's path, without a promise or an object per chunk: the opened pack a located
   * chunk is in, when that pack is at hand (`undefined`: call `read` for the chunk).
   */
  packAtHand(at: ChunkLocation): Buffer | undefined;
  /**
   * Starts reading and opening the packs of the chunks `names[from…until)` that are not at hand,
   * in order, while fewer than `packs` packs started this way wait to be read; returns where it
   * stopped (call again from there: each name is looked at about once).
   */
  readAhead(names: readonly string[], from: number, until: number, packs: number): number;
}

export function chunkReader(repository: Repository, keys: BackupKeys, index: ReadonlyMap<string, ChunkLocation>, keep = 8): ChunkReader {
  const cache = new Map<string, Promise<Buffer>>();
  /** The opened packs among them. */
  const opened = new Map<string, Buffer>();
  /** Packs started by readAhead that read() has not asked for yet. */
  const ahead = new Set<string>();
  let recent: string | undefined;
  const packOf = (pack: string): Promise<Buffer> => {
    let cached = cache.get(pack);
    if (cached === undefined) {
      const loading = repository.get(pack).then((sealed) => keys.openPack(pack, sealed));
      cached = loading;
      loading.then(
        (plain) => void (cache.get(pack) === loading && opened.set(pack, plain)),
        () => cache.delete(pack),
      );
      cache.set(pack, cached);
      if (cache.size > keep) {
        const oldest = cache.keys().next().value as string;
        cache.delete(oldest);
        opened.delete(oldest);
        ahead.delete(oldest);
      }
    } else if (pack !== recent) {
      // Most recently used last.
      cache.delete(pack);
      cache.set(pack, cached);
    }
    recent = pack;
    return cached;
  };
  const checked = (pack: Buffer, at: ChunkLocation) => {
    if (pack.length < at.offset + at.length) throw new BackupError('object-corrupt', `pack ${at.pack} is shorter than its index says`, { status: 500, expose: true });
    return pack;
  };
  return {
    async read(name) {
      const at = index.get(name);
      if (at === undefined) throw new BackupError('object-missing', `chunk ${name} is in no index`, { status: 500, expose: true });
      ahead.delete(at.pack);
      const pack = checked(await packOf(at.pack), at);
      return pack.subarray(at.offset, at.offset + at.length);
    },
    locate: (name) => index.get(name),
    packAtHand(at) {
      const pack = opened.get(at.pack);
      if (pack === undefined) return undefined;
      if (at.pack !== recent) {
        ahead.delete(at.pack);
        void packOf(at.pack); // most recently used
      }
      return checked(pack, at);
    },
    readAhead(names, from, until, packs) {
      // Fewer than `keep` in all, so a pack started ahead is not evicted before its turn.
      const limit = Math.min(packs, keep - 2);
      let i = from;
      for (; i < Math.min(until, names.length); i += 1) {
        const at = index.get(names[i] as string);
        if (at === undefined || cache.has(at.pack)) continue;
        if (ahead.size >= limit) break;
        ahead.add(at.pack);
        packOf(at.pack).catch(() => undefined); // seen when read() gets there
      }
      return i;
    },
  };
}

/**
 * Deletes every pack none of whose chunks a remaining snapshot uses, and packs no index names
 * (a killed backup's), then replaces the indexes by one that names only the packs kept. A pack
 * with some chunks still used is kept whole (no repacking yet: the space of its unused chunks is
 * the price). Only under the repository's exclusive lock.
 */
export async function prunePacks(repository: Repository, keys: BackupKeys, referenced: ReadonlySet<string>, pruneId: string): Promise<{ packs: number; chunks: number }> {
  const indexObjects = (await repository.list(indexPrefix)).filter((o) => o.endsWith('.index'));
  // Pack → chunk name → entry (a pack named by two indexes, after a crash mid-prune, counts once).
  const byPack = new Map<string, Map<string, Entry>>();
  await readIndexes(repository, keys, indexObjects, (pack, entries) => {
    const chunks = byPack.get(pack) ?? new Map<string, Entry>();
    for (const entry of entries) chunks.set(entry[0], entry);
    byPack.set(pack, chunks);
  });
  const kept: Record<string, Entry[]> = {};
  const dead = new Set<string>();
  let chunks = 0;
  for (const [pack, entries] of byPack) {
    if ([...entries.keys()].some((name) => referenced.has(name))) kept[pack] = [...entries.values()];
    else {
      dead.add(pack);
      chunks += entries.size;
    }
  }
  // Packs no index names: a backup killed after storing them, before its index.
  for (const object of await repository.list('packs')) if (!byPack.has(object)) dead.add(object);
  if (dead.size === 0 && indexObjects.length <= 1) return { packs: 0, chunks: 0 };
  // The new index first, then the old ones go, then the packs: a crash anywhere leaves every
  // remaining index naming packs that exist (or that the next prune finds unnamed).
  await writeIndex(repository, keys, pruneId, kept);
  for (const object of indexObjects) if (object !== indexPath(pruneId)) await repository.delete(object);
  for (const pack of dead) await repository.delete(pack);
  return { packs: dead.size, chunks };
}
