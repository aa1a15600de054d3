import Database from 'better-sqlite3';
import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { Checkpointer } from './checkpointer.js';
import { storageUnavailable } from './errors.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './types.js';
import { createWalSync } from './wal-sync.js';

export interface SqliteOptions {
  /** `FULL` (default): an acknowledged write survives power loss. `NORMAL`: acknowledged before the disk has it. */
  readonly synchronous: 'FULL' | 'NORMAL';
  /**
   * Where a `FULL` commit waits for the disk. `thread-pool` (default): the writer commits with
   * synchronous=NORMAL and the `-wal` file is fdatasynced on libuv's thread pool before the batch
   * is acknowledged (wal-sync.ts), so the event loop keeps serving meanwhile. `in-commit`:
   * SQLite's own synchronous=FULL, the sync inside COMMIT on the calling thread (kept to measure
   * against).
   */
  readonly walSync: 'thread-pool' | 'in-commit';
  readonly busyTimeoutMs: number;
  /** Most write units folded into one commit (group commit). */
  readonly maxBatch: number;
  /** Zero freed content in the file (PRAGMA secure_delete): for the key store. */
  readonly secureDelete?: boolean;
  /** Tests only: awaited after a COMMIT, before its fdatasync (holds or fails the flush); gets the database file. */
  readonly beforeWalSync?: (file: string) => Promise<void>;
}

export const sqliteDefaults: SqliteOptions = { synchronous: 'FULL', walSync: 'thread-pool', busyTimeoutMs: 5000, maxBatch: 256 };

/** Checkpoint a data set's WAL after this many commits, or this long after the last checkpoint. */
const checkpointEvery = { commits: 1000, ms: 1000 } as const;

interface PendingUnit {
  readonly fn: (tx: SqlExecutor) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const maxCachedStatements = 512;

class StatementCache {
  readonly #connection: SqliteConnection;
  readonly #statements = new Map<string, Statement>();

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  get(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= maxCachedStatements) this.#statements.clear();
      statement = this.#connection.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function rowsOf<T>(cache: StatementCache, sql: string, params: readonly SqlValue[]): T[] {
  const statement = cache.get(sql);
  if (statement.reader) return statement.all(...params) as T[];
  statement.run(...params);
  return [];
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR';
}

/**
 * One SQLite file, with a writer and a reader connection (WAL lets readers see only committed
 * data while the writer works).
 *
 * Writes go through group commit: every `transaction()` submitted while a commit is being
 * prepared joins the same BEGIN…COMMIT, each unit inside its own SAVEPOINT so that one unit's
 * failure rolls back only that unit. All units resolve once the batch's COMMIT is durable, which
 * turns N fsyncs into one without weakening `synchronous=FULL`.
 *
 * With `walSync: 'thread-pool'` the wait for the disk happens off the event loop and batches
 * pipeline: the next batch runs and commits while the previous one's fdatasync is in flight.
 * Nothing is acknowledged before it is on disk. The reader, though, sees a batch as soon as it
 * committed, while its flush may still be in flight; so by default a read that ran then waits
 * for that flush before it returns (without blocking the thread): otherwise a caller could build
 * on data a power loss takes back (a record sealed under a key whose own commit was lost).
 * `readsWaitForFlush: false` is for data sets where every answer built from a read is preceded by
 * a durable write to the same file (a tenant's: each disclosure's audit event), whose flush starts
 * after the read and so covers every frame it could have seen.
 *
 * `checkpointer` moves WAL checkpoints (which sync both files) to a worker thread; without one,
 * SQLite checkpoints on the writer as usual (tools and short-lived handles).
 */
export function openSqliteDatabase(
  file: string,
  options: SqliteOptions = sqliteDefaults,
  { checkpointer, readsWaitForFlush = true }: { readonly checkpointer?: Checkpointer; readonly readsWaitForFlush?: boolean } = {},
): SqlDatabase {
  const offLoop = options.synchronous === 'FULL' && options.walSync === 'thread-pool';
  const writer = new Database(file);
  writer.pragma('journal_mode = WAL');
  writer.pragma(`synchronous = ${options.synchronous === 'NORMAL' || offLoop ? 'NORMAL' : 'FULL'}`);
  if (checkpointer !== undefined) writer.pragma('wal_autocheckpoint = 0');
  writer.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  writer.pragma('foreign_keys = ON');
  if (options.secureDelete === true) writer.pragma('secure_delete = ON');
  // SQLite ≥ 3.46: analyse what needs it at open, bounded in time (sqlite.org/lang_analyze.html).
  writer.pragma('optimize = 0x10002');
  const reader = new Database(file, { readonly: true });
  reader.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);

  const { beforeWalSync } = options;
  const walSync = offLoop ? createWalSync(`${file}-wal`, beforeWalSync === undefined ? undefined : () => beforeWalSync(file)) : undefined;
  let commitsSinceCheckpoint = 0;
  let checkpointedAt = performance.now();
  let checkpointing: Promise<void> | undefined;
  function checkpointWhenDue(): void {
    commitsSinceCheckpoint += 1;
    if (checkpointer === undefined || checkpointing !== undefined || closed) return;
    if (commitsSinceCheckpoint < checkpointEvery.commits && performance.now() - checkpointedAt < checkpointEvery.ms) return;
    commitsSinceCheckpoint = 0;
    // A failed checkpoint loses nothing (the WAL keeps every frame); the next one retries.
    checkpointing = checkpointer
      .checkpoint(file)
      .catch(() => undefined)
      .finally(() => {
        checkpointing = undefined;
        checkpointedAt = performance.now();
      });
  }

  const writes = new StatementCache(writer);
  const reads = new StatementCache(reader);
  // The reader never writes, so its data_version moves on every commit by any connection.
  // Asked at most once a millisecond: hot caches check it several times per request.
  const dataVersionStatement = reader.prepare('PRAGMA data_version').pluck();
  let dataVersionAt = Number.NEGATIVE_INFINITY;
  let dataVersionValue = 0;
  const queue: PendingUnit[] = [];
  let flushing = false;
  let closed = false;
  // Query plans depend on statistics; refresh them as data grows (PRAGMA optimize only
  // re-analyses tables whose row counts moved enough, so calling it is cheap).
  let unitsSinceOptimize = 0;
  const optimizeEvery = 2000;
  let idle: Promise<void> = Promise.resolve();
  let markIdle: () => void = () => {};

  // The after-commit hooks of the unit running now (units of a batch run one after another).
  let unitHooks: Array<() => void> = [];
  const tx: SqlExecutor = {
    dialect: 'sqlite',
    table: (name) => name,
    query: async <T>(sql: string, params: readonly SqlValue[] = []) => rowsOf<T>(writes, sql, params),
    execute: async (sql, params = []) => writes.get(sql).run(...params).changes,
    afterCommit: (fn) => void unitHooks.push(fn),
  };

  // Another connection (the admin CLI, a second process) may hold the file's write lock. SQLite's
  // busy handler would wait for it by sleeping this thread, stalling every tenant's requests; so
  // the lock is asked for without waiting and asked again after a timer, up to busyTimeoutMs.
  const noWait = writer.prepare('PRAGMA busy_timeout = 0');
  const wait = writer.prepare(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  async function begin(): Promise<void> {
    const deadline = performance.now() + options.busyTimeoutMs;
    let pause = 1;
    for (;;) {
      noWait.run();
      try {
        writes.get('BEGIN IMMEDIATE').run();
        return;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || performance.now() >= deadline) throw error;
      } finally {
        wait.run();
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - performance.now()))));
      pause = Math.min(pause * 2, 25);
    }
  }

  async function flush(): Promise<void> {
    const batch = queue.splice(0, options.maxBatch);
    const done: Array<{ unit: PendingUnit; value: unknown; hooks: Array<() => void> }> = [];
    if (walSync?.failure !== undefined) {
      for (const unit of batch) unit.reject(walSync.failure);
      return;
    }
    try {
      await begin();
    } catch (error) {
      for (const unit of batch) unit.reject(isBusy(error) ? storageUnavailable(error) : error);
      return;
    }
    for (const unit of batch) {
      try {
        writes.get('SAVEPOINT unit').run();
        const hooks: Array<() => void> = (unitHooks = []);
        const value = await unit.fn(tx);
        writes.get('RELEASE unit').run();
        done.push({ unit, value, hooks });
      } catch (error) {
        unit.reject(error);
        // Some errors (I/O, disk full) make SQLite abandon the whole transaction; then the
        // savepoint is gone and nothing in this batch can be committed.
        try {
          writes.get('ROLLBACK TO unit').run();
          writes.get('RELEASE unit').run();
        } catch {
          break;
        }
      }
    }
    const settled = new Set<PendingUnit>(done.map((d) => d.unit));
    try {
      if (!writer.inTransaction) throw new Error('transaction abandoned by SQLite');
      writes.get('COMMIT').run();
    } catch (error) {
      if (writer.inTransaction) writer.prepare('ROLLBACK').run();
      for (const { unit } of done) unit.reject(storageUnavailable(error));
      // Units after an abandoning error never ran; they fail too rather than hang.
      for (const unit of batch) if (!settled.has(unit)) unit.reject(storageUnavailable(error));
      return;
    }
    const acknowledge = () => {
      for (const { unit, value, hooks } of done) {
        try {
          for (const hook of hooks) hook();
        } catch (error) {
          // Hooks must not throw; one that does fails its own unit, not the process or the batch.
          unit.reject(error);
          continue;
        }
        unit.resolve(value);
      }
    };
    checkpointWhenDue();
    if (walSync === undefined) acknowledge();
    else
      walSync.committed().then(acknowledge, (error: unknown) => {
        for (const { unit } of done) unit.reject(error);
      });
    unitsSinceOptimize += batch.length;
    if (unitsSinceOptimize >= optimizeEvery) {
      unitsSinceOptimize = 0;
      writer.pragma('optimize');
    }
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        try {
          await flush();
        } catch (error) {
          // Defence in depth: whatever went wrong, no queued request is left waiting forever.
          if (writer.inTransaction) writer.prepare('ROLLBACK').run();
          for (const unit of queue.splice(0)) unit.reject(storageUnavailable(error));
        }
      }
    } finally {
      flushing = false;
      markIdle();
    }
  }

  // A read returns once what it saw is on disk (see readsWaitForFlush above).
  async function readFlushed(): Promise<void> {
    const flushing = readsWaitForFlush ? walSync?.barrier() : walSync?.failure === undefined ? undefined : Promise.reject(walSync.failure);
    if (flushing !== undefined) await flushing;
  }

  return {
    dialect: 'sqlite',
    table: (name) => name,
    async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      let rows: T[];
      try {
        // INSERT/UPDATE … RETURNING writes: the reader connection is read-only, so it goes
        // through the write queue like any other change (and its group commit).
        if (!reads.get(sql).readonly) return await this.transaction((t) => t.query<T>(sql, params));
        rows = rowsOf<T>(reads, sql, params);
      } catch (error) {
        throw isBusy(error) ? storageUnavailable(error) : error;
      }
      await readFlushed();
      return rows;
    },
    async queryArrays(sql, params = []) {
      let rows: unknown[][];
      try {
        const statement = reads.get(sql);
        if (!statement.readonly || !statement.reader) throw new TypeError('queryArrays runs read-only SELECTs only');
        statement.raw(true);
        try {
          rows = statement.all(...params) as unknown[][];
        } finally {
          statement.raw(false);
        }
      } catch (error) {
        throw isBusy(error) ? storageUnavailable(error) : error;
      }
      await readFlushed();
      return rows;
    },
    async execute(sql, params = []) {
      return this.transaction((t) => t.execute(sql, params));
    },
    afterCommit: (fn) => fn(),
    async scrub() {
      // Through the write queue, so no batch is open and every commit is on disk; TRUNCATE leaves
      // an empty WAL file (the same inode, which wal-sync's descriptor keeps naming).
      await this.transaction(async () => undefined);
      await checkpointing;
      writer.pragma('wal_checkpoint(TRUNCATE)');
    },
    dataVersion: () => {
      const now = performance.now();
      if (now - dataVersionAt >= 1) {
        dataVersionValue = dataVersionStatement.get() as number;
        dataVersionAt = now;
      }
      return dataVersionValue;
    },
    transaction<T>(fn: (t: SqlExecutor) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(storageUnavailable(new Error('database closed')));
      if (walSync?.failure !== undefined) return Promise.reject(walSync.failure);
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        // setImmediate lets every request that arrived in this turn of the event loop join.
        if (!flushing) {
          flushing = true;
          idle = new Promise((done) => (markIdle = done));
          setImmediate(() => void drain());
        }
      });
    },
    async close() {
      closed = true;
      if (flushing) await idle;
      await walSync?.close();
      await checkpointing;
      writer.pragma('optimize');
      reader.close();
      writer.close();
    },
  };
}
