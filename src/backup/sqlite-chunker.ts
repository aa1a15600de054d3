import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A live SQLite database cut into named chunks, in a worker thread, so the server's event loop
 * only decides which chunks are new. The worker:
 * 1. copies the database consistently, page for page: its own read-only connection runs SQLite's
 *    online backup in one step, i.e. inside one read transaction — in WAL mode a snapshot of the
 *    last commit while writers go on (sqlite.org/backup.html, wal.html §2.2). Page for page
 *    matters: unchanged pages give unchanged chunks, which deduplication skips;
 * 2. counts the copy's rows per table (the manifest's counts, which a restore must give again);
 * 3. reads the copy in batches, names each chunk (HMAC-SHA-256 under the backup's chunk-name key,
 *    truncated to 128 bits — what BackupKeys.chunkName computes) and hands each batch to this
 *    thread with its names, which hashes the whole file (SHA-256; this thread has time to spare
 *    while the worker names chunks, and the worker's work is what the snapshot waits for).
 * The caller removes the copy.
 * Batches go back and forth as transferred buffers (no copies), at most `buffers` of them at a
 * time: the worker waits while the main thread packs — memory stays bounded, and the same few
 * buffers are reused (on a virtual machine, touching fresh memory costs more than hashing it).
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const Database = require(workerData.module);
const { source, copy, nameKey, batchBytes, buffers } = workerData;
const free = [];
let waiting;
parentPort.on('message', (message) => {
  free.push(Buffer.from(message));
  if (waiting) { const wake = waiting; waiting = undefined; wake(); }
});
async function run() {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(copy, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const counts = {};
  const counting = new Database(copy, { readonly: true, fileMustExist: true });
  try {
    const tables = counting.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    for (const t of tables) counts[t] = Number(counting.prepare('SELECT COUNT(*) FROM "' + t.replace(/"/g, '""') + '"').pluck().get());
  } finally {
    counting.close();
  }
  const fd = fs.openSync(copy, 'r');
  try {
    const header = Buffer.alloc(100);
    fs.readSync(fd, header, 0, 100, 0);
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    const chunkBytes = Math.max(pageSize, Math.ceil(workerData.chunkBytes / pageSize) * pageSize);
    const size = fs.fstatSync(fd).size;
    const batch = Math.max(chunkBytes, Math.floor(batchBytes / chunkBytes) * chunkBytes);
    parentPort.postMessage({ type: 'start', counts, size, chunkBytes });
    for (let i = 0; i < buffers; i++) free.push(Buffer.allocUnsafeSlow(batch));
    for (let offset = 0; offset < size; ) {
      while (free.length === 0) await new Promise((resolve) => { waiting = resolve; });
      const data = free.pop();
      const want = Math.min(batch, size - offset);
      let length = 0;
      while (length < want) {
        const read = fs.readSync(fd, data, length, want - length, offset + length);
        if (read === 0) throw new Error('the copy ended early');
        length += read;
      }
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
    fs.closeSync(fd);
  }
  parentPort.postMessage({ type: 'end' });
}
run().catch((error) => parentPort.postMessage({ type: 'error', message: String((error && error.message) || error) }));
`;

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');

type Message =
  | { type: 'start'; counts: Record<string, number>; size: number; chunkBytes: number }
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
    workerData: { module: betterSqlite, source: options.source, copy: options.copy, chunkBytes: options.chunkBytes, nameKey: options.nameKey, batchBytes: options.batchBytes ?? 1 << 20, buffers: options.buffers ?? 8 },
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
  let started: { counts: Record<string, number>; size: number; chunkBytes: number } | undefined;
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
        return { counts: started.counts, size: started.size, chunkBytes: started.chunkBytes, sha256: whole.digest('hex') };
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
