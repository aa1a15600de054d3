import { createHash, createHmac } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * A restored file written by a worker thread: the main thread fetches and opens packs and hands
 * over the chunks in order, in batches. Each chunk's name is checked (HMAC-SHA-256 under the
 * backup's chunk-name key, as BackupKeys.chunkName — so a chunk that does not hold what its name
 * says is found, and named): by the worker, and for every other batch by the main thread, which
 * also hashes the whole file (SHA-256, for the manifest's); the worker writes the file and, unless
 * it is a scratch copy, makes it durable (fsync). Hashing, writing and reading packs overlap on
 * two cores, and the event loop stays free for a server restoring a tenant while it runs. Batches
 * are transferred buffers, at most `buffers` at a time, reused.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const { file, nameKey, durable } = workerData;
let fd;
let written = 0;
let failed = false;
parentPort.on('message', (message) => {
  if (failed) return;
  try {
    if (fd === undefined) fd = fs.openSync(file, 'w', 0o600);
    if (message.type === 'batch') {
      const data = Buffer.from(message.data, 0, message.length);
      const names = Buffer.from(message.names.buffer, message.names.byteOffset, message.names.byteLength);
      let at = 0;
      for (let i = 0; !message.checked && i < message.sizes.length; i++) {
        const size = message.sizes[i];
        const digest = createHmac('sha256', nameKey).update(data.subarray(at, at + size)).digest();
        if (digest.compare(names, i * 16, i * 16 + 16, 0, 16) !== 0) {
          failed = true;
          parentPort.postMessage({ type: 'mismatch', index: message.first + i });
          return;
        }
        at += size;
      }
      for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done);
      written += data.length;
      parentPort.postMessage({ type: 'free', data: message.data }, [message.data]);
    } else if (message.type === 'end') {
      if (durable) fs.fsyncSync(fd);
      fs.closeSync(fd);
      parentPort.postMessage({ type: 'end', bytes: written });
    }
  } catch (error) {
    failed = true;
    parentPort.postMessage({ type: 'error', message: String((error && error.message) || error), code: error && error.code });
  }
});
`;

type Message = { type: 'free'; data: ArrayBuffer } | { type: 'mismatch'; index: number } | { type: 'end'; bytes: number } | { type: 'error'; message: string; code?: string } | { type: 'exit' };

/** Why a file could not be assembled: a chunk (by its index) that is not what its name says, or an I/O error. */
export class AssembleError extends Error {
  constructor(
    message: string,
    readonly chunkIndex?: number,
    /** The file system's error code (`ENOSPC`, …), when that is what failed. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface FileAssembler {
  /**
   * Appends the chunk `source[offset, offset + length)`, which should be named `name` (32 hex
   * digits); copies it. Returns a promise only when it has to wait for a free batch buffer (a
   * restore adds 262,144 chunks per GiB: a promise each was most of its garbage).
   */
  add(name: string, source: Buffer, offset: number, length: number): Promise<void> | undefined;
  /** Writes what is left, fsyncs; the file's SHA-256 and size. */
  end(): Promise<{ sha256: string; bytes: number }>;
  /** Stops the worker (after a failure); the caller removes the file. */
  abort(): Promise<void>;
}

/** `durable`: fsync the file at the end (a restore: yes; a verify's scratch copy, checked and removed: no). */
export function assembleFile(file: string, nameKey: Buffer, { batchBytes = 1 << 20, buffers = 8, durable = true }: { batchBytes?: number; buffers?: number; durable?: boolean } = {}): FileAssembler {
  const worker = new Worker(`(function(){${workerSource}})()`, { eval: true, workerData: { file, nameKey, durable } });
  let failure: AssembleError | undefined;
  let ended: ((result: { bytes: number }) => void) | undefined;
  const free: ArrayBuffer[] = Array.from({ length: buffers }, () => new ArrayBuffer(batchBytes));
  let waiting: (() => void) | undefined;
  const wakeAll = () => {
    const wake = waiting;
    waiting = undefined;
    wake?.();
  };
  worker.on('message', (message: Message) => {
    if (message.type === 'free') free.push(message.data);
    else if (message.type === 'mismatch') failure ??= new AssembleError('a chunk does not hold what its name says', message.index);
    else if (message.type === 'error') failure ??= new AssembleError(message.message, undefined, message.code);
    else if (message.type === 'end') ended?.({ bytes: message.bytes });
    wakeAll();
  });
  worker.on('error', (error: Error) => {
    failure ??= new AssembleError(error.message);
    wakeAll();
  });
  worker.on('exit', () => {
    failure ??= new AssembleError('the file writer stopped');
    wakeAll();
  });
  const wait = () => new Promise<void>((resolve) => (waiting = resolve));

  let current: Buffer | undefined;
  let used = 0;
  let names: string[] = [];
  let sizes: number[] = [];
  let first = 0;
  const whole = createHash('sha256');
  let batches = 0;
  const flush = () => {
    if (current === undefined || names.length === 0) return;
    const packed = Buffer.allocUnsafeSlow(names.length * 16);
    names.forEach((name, i) => packed.write(name, i * 16, 16, 'hex'));
    // The worker was what a restore waited for: this thread hashes the file, and checks the names
    // of every other batch itself (a couple of milliseconds per batch on the event loop).
    whole.update(current.subarray(0, used));
    const checked = (batches++ & 1) === 1;
    if (checked) {
      for (let i = 0, at = 0; i < sizes.length; at += sizes[i] as number, i += 1) {
        const digest = createHmac('sha256', nameKey).update(current.subarray(at, at + (sizes[i] as number))).digest();
        if (digest.compare(packed, i * 16, i * 16 + 16, 0, 16) !== 0) {
          failure ??= new AssembleError('a chunk does not hold what its name says', first + i);
          return;
        }
      }
    }
    const data = current.buffer as ArrayBuffer;
    worker.postMessage({ type: 'batch', data, length: used, names: packed, sizes: Uint32Array.from(sizes), first, checked }, [data]);
    current = undefined;
    used = 0;
    first += names.length;
    names = [];
    sizes = [];
  };
  const append = (name: string, source: Buffer, offset: number, length: number) => {
    source.copy(current as Buffer, used, offset, offset + length);
    used += length;
    names.push(name);
    sizes.push(length);
  };
  const take = async (): Promise<Buffer> => {
    while (free.length === 0 && failure === undefined) await wait();
    if (failure !== undefined) throw failure;
    return Buffer.from(free.pop() as ArrayBuffer);
  };
  return {
    add(name, source, offset, length) {
      if (failure !== undefined) return Promise.reject(failure);
      if (current !== undefined && used + length > current.length) {
        flush();
        // A batch whose names did not check is not sent: nothing more goes after it.
        if (failure !== undefined) return Promise.reject(failure);
      }
      if (current === undefined) {
        // A chunk larger than a batch (backup.chunkKiB above 1024) travels alone, in a buffer of its size.
        if (length > batchBytes) current = Buffer.from(new ArrayBuffer(length));
        else if (free.length > 0) current = Buffer.from(free.pop() as ArrayBuffer);
        else return take().then((buffer) => {
          current = buffer;
          append(name, source, offset, length);
        });
      }
      append(name, source, offset, length);
      return undefined;
    },
    async end() {
      flush();
      if (failure !== undefined) throw failure;
      const result = new Promise<{ bytes: number }>((resolve) => (ended = resolve));
      worker.postMessage({ type: 'end' });
      for (;;) {
        const settled = await Promise.race([result, wait().then(() => undefined)]);
        if (failure !== undefined) {
          await worker.terminate();
          throw failure;
        }
        if (settled !== undefined) {
          await worker.terminate();
          return { sha256: whole.digest('hex'), bytes: settled.bytes };
        }
      }
    },
    async abort() {
      await worker.terminate();
    },
  };
}
