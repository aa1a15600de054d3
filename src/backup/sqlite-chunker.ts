import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { freemem } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A live SQLite database cut into named chunks, in a worker thread, so the server's event loop
 * only decides which chunks are new. The worker:
 * 1. copies the database consistently, page for page, inside one read transaction of its own
 *    read-only connection — in WAL mode a snapshot of the last commit while writers go on
 *    (sqlite.org/wal.html §2.2) — and counts its rows per table (the manifest's counts, which a
 *    restore must give again). Page for page matters: unchanged pages give unchanged chunks,
 *    which deduplication skips. Two ways:
 *    - in memory, when the data set fits in `memoryLimitBytes`: the counts and `sqlite3_serialize`
 *      in one transaction (the pages read through SQLite's pager, the WAL's included). Four to
 *      five times faster than a copy on this machine, and nothing is written. sqlite3_serialize
 *      gives a page it could not read as zeros, not an error (memdb.c), so an all-zero page that
 *      the file's structure does not explain (freelist pages, the lock-byte page) sends the copy
 *      the second way;
 *    - SQLite's online backup into `copy` in one step (sqlite.org/backup.html), then the counts on
 *      the copy;
 * 2. reads the copy in batches, names each chunk (HMAC-SHA-256 under the backup's chunk-name key,
 *    truncated to 128 bits — what BackupKeys.chunkName computes) and hands each batch to this
 *    thread with its names, which hashes the whole file (SHA-256; this thread has time to spare
 *    while the worker names chunks, and the worker's work is what the snapshot waits for).
 * The caller removes the copy file, if one was made.
 * Batches go back and forth as transferred buffers (no copies), at most `buffers` of them at a
 * time: the worker waits while the main thread packs — memory stays bounded, and the same few
 * buffers are reused (on a virtual machine, touching fresh memory costs more than hashing it).
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const Database = require(workerData.module);
const { source, copy, nameKey, batchBytes, buffers, memoryLimit } = workerData;
const free = [];
let waiting;
parentPort.on('message', (message) => {
  free.push(Buffer.from(message));
  if (waiting) { const wake = waiting; waiting = undefined; wake(); }
});

function countRows(db) {
  const counts = {};
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
  for (const t of tables) counts[t] = Number(db.prepare('SELECT COUNT(*) FROM "' + t.replace(/"/g, '""') + '"').pluck().get());
  return counts;
}

const pageSizeOf = (header) => { const raw = header.readUInt16BE(16); return raw === 1 ? 65536 : raw; };

/**
 * Pages that may be all zeros in a sound file: freelist trunk and leaf pages (with
 * secure_delete, freed pages are zeroed) and the page holding the lock byte at 1 GiB, which
 * SQLite never writes. sqlite3_serialize gives zeros for a page it could not read, instead of an
 * error: any other zero page sends the copy the slow, checked way (the online backup).
 */
function unexplainedZeroPage(image, pageSize) {
  const pages = Math.floor(image.length / pageSize);
  const allowed = new Set();
  const lockPage = Math.floor(0x40000000 / pageSize) + 1;
  allowed.add(lockPage);
  let trunk = image.readUInt32BE(32);
  for (let guard = 0; trunk !== 0 && guard <= pages; guard++) {
    if (trunk > pages) return trunk;
    allowed.add(trunk);
    const at = (trunk - 1) * pageSize;
    const leaves = image.readUInt32BE(at + 4);
    if (leaves > (pageSize - 8) / 4) return trunk;
    for (let i = 0; i < leaves; i++) allowed.add(image.readUInt32BE(at + 8 + i * 4));
    trunk = image.readUInt32BE(at);
  }
  const zero = Buffer.alloc(pageSize);
  for (let page = 1; page <= pages; page++) {
    const at = (page - 1) * pageSize;
    // Only a page whose first bytes are zero can be all zeros (a b-tree page's type byte is not).
    if (image.readUInt32BE(at) !== 0 || allowed.has(page)) continue;
    if (image.compare(zero, 0, pageSize, at, at + pageSize) === 0) return page;
  }
  return 0;
}

/** The database as it was at one point in time, in memory: counts and image in one read transaction. */
function inMemory() {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    const counts = countRows(db);
    const image = db.serialize();
    db.exec('COMMIT');
    const pageSize = pageSizeOf(image);
    const suspect = unexplainedZeroPage(image, pageSize);
    return suspect === 0 ? { counts, image } : undefined;
  } finally {
    db.close();
  }
}

/** The database copied to a file by SQLite's online backup (one step: one read transaction), counted there. */
async function onFile() {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(copy, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const counting = new Database(copy, { readonly: true, fileMustExist: true });
  let counts;
  try {
    counts = countRows(counting);
  } finally {
    counting.close();
  }
  const fd = fs.openSync(copy, 'r');
  return { counts, fd, size: fs.fstatSync(fd).size };
}

async function run() {
  const estimate = fs.statSync(source).size + (fs.existsSync(source + '-wal') ? fs.statSync(source + '-wal').size : 0);
  const memory = estimate <= memoryLimit ? inMemory() : undefined;
  const file = memory === undefined ? await onFile() : undefined;
  const size = memory !== undefined ? memory.image.length : file.size;
  const read = (buffer, length, offset) => {
    if (memory !== undefined) return memory.image.copy(buffer, 0, offset, offset + length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(file.fd, buffer, done, length - done, offset + done);
      if (n === 0) throw new Error('the copy ended early');
      done += n;
    }
    return done;
  };
  try {
    const header = Buffer.alloc(100);
    read(header, 100, 0);
    const pageSize = pageSizeOf(header);
    const chunkBytes = Math.max(pageSize, Math.ceil(workerData.chunkBytes / pageSize) * pageSize);
    const batch = Math.max(chunkBytes, Math.floor(batchBytes / chunkBytes) * chunkBytes);
    parentPort.postMessage({ type: 'start', counts: (memory || file).counts, size, chunkBytes, copiedBy: memory !== undefined ? 'serialize' : 'backup' });
    for (let i = 0; i < buffers; i++) free.push(Buffer.allocUnsafeSlow(batch));
    for (let offset = 0; offset < size; ) {
      while (free.length === 0) await new Promise((resolve) => { waiting = resolve; });
      const data = free.pop();
      const length = read(data, Math.min(batch, size - offset), offset);
      const count = Math.ceil(length / chunkBytes);
      const names = new Uint8Array(count * 16);
      for (let i = 0; i < count; i++) {
        const digest = createHmac('sha256', nameKey).update(data.subarray(i * chunkBytes, Math.min(length, (i + 1) * chunkBytes))).digest();
        names.set(digest.subarray(0, 16), i * 16);
      }
      parentPort.postMessage({ type: 'batch', names, data: data.buffer, length }, [data.buffer]);
      offset += length;
    }
  } finally {
    if (file !== undefined) fs.closeSync(file.fd);
  }
  parentPort.postMessage({ type: 'end' });
}
run().catch((error) => parentPort.postMessage({ type: 'error', message: String((error && error.message) || error) }));
`;

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');

type Message =
  | { type: 'start'; counts: Record<string, number>; size: number; chunkBytes: number; copiedBy: 'serialize' | 'backup' }
  | { type: 'batch'; names: Uint8Array; data: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'error'; message: string }
  | { type: 'exit'; code: number };

export interface SqliteChunks {
  /** Rows per table of the copy. */
  readonly counts: Record<string, number>;
  /** The copy's size in bytes. */
  readonly size: number;
  /** The chunk size: the one asked for, rounded up to a multiple of the file's page size. */
  readonly chunkBytes: number;
  /** SHA-256 of the whole copy, hex. */
  readonly sha256: string;
  /** How the copy was made: in memory (`serialize`), or by the online backup into `copy`. */
  readonly copiedBy: 'serialize' | 'backup';
}

export interface ChunkSqliteOptions {
  /** The live database file. */
  readonly source: string;
  /** Where the worker puts the consistent copy (in a private scratch directory); the caller removes it. */
  readonly copy: string;
  /** The chunk size asked for (rounded up to the page size). */
  readonly chunkBytes: number;
  /** BackupKeys.chunkNameKey(). */
  readonly nameKey: Buffer;
  /**
   * Data sets up to this size (file and WAL) are copied in memory; larger ones, and any whose
   * image has an unexplained zero page, by the online backup into `copy`. Default: a quarter of
   * the memory available.
   */
  readonly memoryLimitBytes?: number;
  /** Bytes per batch (default 1 MiB) and batches in flight (default 8). */
  readonly batchBytes?: number;
  readonly buffers?: number;
  /** Called once the copy is made, before the first batch. */
  readonly onStart?: (info: { size: number; chunkBytes: number }) => void;
}

/**
 * Copies and chunks `source` (see above); calls `onBatch` with each batch's chunk names (16 bytes
 * each, in order) and data, one batch at a time — the data is only lent: copy what is kept before
 * the returned promise settles. Rejects with the worker's error, or with `onBatch`'s (the worker
 * is stopped then).
 */
export async function chunkSqliteDatabase(options: ChunkSqliteOptions, onBatch: (names: Buffer, data: Buffer, chunkBytes: number) => Promise<void>): Promise<SqliteChunks> {
  const worker = new Worker(`(function(){${workerSource}})()`, {
    eval: true,
    workerData: {
      module: betterSqlite,
      source: options.source,
      copy: options.copy,
      chunkBytes: options.chunkBytes,
      nameKey: options.nameKey,
      batchBytes: options.batchBytes ?? 1 << 20,
      buffers: options.buffers ?? 8,
      memoryLimit: options.memoryLimitBytes ?? Math.floor(freemem() / 4),
    },
  });
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  const push = (message: Message) => {
    queue.push(message);
    wake?.();
  };
  worker.on('message', push);
  worker.on('error', (error: Error) => push({ type: 'error', message: error.message }));
  worker.on('exit', (code) => push({ type: 'exit', code }));
  const next = async (): Promise<Message> => {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    return queue.shift() as Message;
  };
  let started: { counts: Record<string, number>; size: number; chunkBytes: number; copiedBy: 'serialize' | 'backup' } | undefined;
  const whole = createHash('sha256');
  try {
    for (;;) {
      const message = await next();
      if (message.type === 'start') {
        started = message;
        options.onStart?.({ size: message.size, chunkBytes: message.chunkBytes });
      } else if (message.type === 'batch' && started !== undefined) {
        const data = Buffer.from(message.data, 0, message.length);
        whole.update(data);
        await onBatch(Buffer.from(message.names.buffer, message.names.byteOffset, message.names.byteLength), data, started.chunkBytes);
        // The buffer goes back to the worker for its next batch.
        worker.postMessage(message.data, [message.data]);
      } else if (message.type === 'end' && started !== undefined) {
        return { counts: started.counts, size: started.size, chunkBytes: started.chunkBytes, sha256: whole.digest('hex'), copiedBy: started.copiedBy };
      } else if (message.type === 'error') {
        throw new Error(`copying ${options.source}: ${message.message}`);
      } else {
        throw new Error(`copying ${options.source}: the worker stopped unexpectedly`);
      }
    }
  } finally {
    await worker.terminate();
  }
}
