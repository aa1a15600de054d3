import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Runs SQLite WAL checkpoints on a worker thread, one thread for every data set of a process.
 *
 * A checkpoint copies the WAL's pages into the database file and syncs both files; on the writer
 * connection (SQLite's automatic checkpoint after a commit) those syncs would stall the event
 * loop. Here the worker opens its own connection per request and runs a PASSIVE checkpoint (the
 * bulk of the copying, without blocking anyone) and then a RESTART one, which holds the write
 * lock only to copy what was committed meanwhile, so that the next writer starts the log from
 * the beginning and it stays small. The owner's writer meets that lock as SQLITE_BUSY and retries
 * on a timer, so a checkpoint delays writes a little and never blocks the loop.
 */
export interface Checkpointer {
  /** Checkpoints one database file; resolves when done (a busy RESTART is not an error). */
  checkpoint(file: string): Promise<void>;
  close(): Promise<void>;
}

/** How long RESTART may hold the write lock waiting for readers to leave the old log. */
const restartWaitMs = 100;

// CommonJS, evaluated in the worker: it needs nothing but the driver, so it loads in a few ms. A
// connection per request, closed after it, so that no data set's descriptors stay open for it.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
parentPort.on('message', ({ id, file }) => {
  let db;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = ${restartWaitMs}');
    db.pragma('wal_checkpoint(PASSIVE)');
    db.pragma('wal_checkpoint(RESTART)');
    parentPort.postMessage({ id });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.code) || error) });
  } finally {
    if (db !== undefined) db.close();
  }
});
`;

export function createCheckpointer(): Checkpointer {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const inFlight = new Set<Promise<void>>();

  function started(): Worker {
    if (worker !== undefined) return worker;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // No loader hooks in the worker: its source is plain JavaScript.
    const fresh = new Worker(workerSource, { eval: true, workerData: { driver }, execArgv: [] });
    fresh.unref();
    fresh.on('message', ({ id, error }: { id: number; error?: string }) => {
      const waiter = pending.get(id);
      pending.delete(id);
      if (pending.size === 0) fresh.unref();
      if (error === undefined || error === 'SQLITE_BUSY') waiter?.resolve();
      else waiter?.reject(new Error(`checkpoint failed: ${error}`));
    });
    fresh.on('error', (error) => {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      worker = undefined;
    });
    worker = fresh;
    return fresh;
  }

  return {
    checkpoint(file) {
      const id = (nextId += 1);
      const done = new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const running = started();
        // Referenced while a request is out, so that the process does not exit mid-checkpoint.
        running.ref();
        running.postMessage({ id, file });
      });
      inFlight.add(done);
      void done.catch(() => undefined).finally(() => inFlight.delete(done));
      return done;
    },
    async close() {
      await Promise.allSettled(inFlight);
      await worker?.terminate();
      worker = undefined;
    },
  };
}
