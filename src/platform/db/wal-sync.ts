import { open, type FileHandle } from 'node:fs/promises';
import { storageUnavailable } from './errors.js';
import type { StorageError } from './errors.js';

/**
 * Makes a WAL-mode SQLite file's commits durable off the event loop: the writer commits with
 * `synchronous=NORMAL` (COMMIT only write()s its frames to the OS) and this module fdatasyncs the
 * `-wal` file on libuv's thread pool before anything of the commit is acknowledged.
 *
 * Why this keeps `synchronous=FULL`'s guarantee (sqlite.org/pragma.html#pragma_synchronous,
 * sqlite.org/wal.html): with FULL, the only extra step in WAL mode is a sync of the WAL file after
 * a transaction's frames are written (sqlite3WalFrames: `isCommit && WAL_SYNC_FLAGS(sync_flags)`);
 * "a transaction committed in WAL mode with synchronous=NORMAL might roll back following a power
 * loss" only because that sync is missing. fdatasync of the same inode, started after COMMIT
 * returned, puts every frame written before it on disk, the commit frame included, and recovery
 * replays the WAL up to the last commit frame whose checksums hold. What NORMAL still syncs is
 * unchanged: the WAL header when the log restarts (sqlite3WalFrames, `syncHeader`, with the
 * checkpoint flags NORMAL keeps) and both files during a checkpoint. FULL's sector padding is off
 * on Linux, where the unix VFS assumes powersafe overwrite (`padToSectorBoundary = 0`).
 *
 * The `-wal` file is opened lazily, after the first COMMIT wrote to it. SQLite deletes it only
 * when the last connection to the database closes, and the owner's writer stays open as long as
 * this does, so the descriptor always names the live log; a TRUNCATE checkpoint shortens the same
 * inode.
 *
 * Syncs are serialised: at most one is in flight, and it covers every commit made before it
 * started; commits made meanwhile wait for the next one. Waiters are released in commit order.
 *
 * A failed fdatasync cannot be retried: Linux may already have dropped the dirty pages and
 * cleared the error, so a later sync would succeed without the data being on disk (PostgreSQL's
 * "fsyncgate", 2018). Every waiter then fails and the data set refuses all further work until it
 * is reopened, which recovers from what the disk really holds.
 */
export interface WalSync {
  /** After a COMMIT on the writer: settles once that commit is on disk. */
  committed(): Promise<void>;
  /**
   * After a read: undefined when nothing committed is still waiting for the disk, otherwise a
   * promise that settles once everything committed so far is.
   */
  barrier(): Promise<void> | undefined;
  /** Set once a sync failed: the data set acknowledges nothing more. */
  readonly failure: StorageError | undefined;
  /** Waits for the sync in flight, then closes the descriptor. */
  close(): Promise<void>;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function createWalSync(walFile: string, beforeSync?: () => Promise<void>): WalSync {
  let committed = 0;
  let synced = 0;
  let inFlight: Promise<void> | undefined;
  let failure: StorageError | undefined;
  let handle: FileHandle | undefined;
  const waiters: Waiter[] = [];

  const wait = (seq: number) => new Promise<void>((resolve, reject) => waiters.push({ seq, resolve, reject }));

  async function syncOnce(): Promise<void> {
    if (beforeSync !== undefined) await beforeSync();
    handle ??= await open(walFile, 'r+');
    await handle.datasync();
  }

  function kick(): void {
    if (inFlight !== undefined || failure !== undefined || synced >= committed) return;
    const target = committed;
    inFlight = syncOnce().then(
      () => {
        synced = target;
        inFlight = undefined;
        while (waiters.length > 0 && (waiters[0] as Waiter).seq <= target) (waiters.shift() as Waiter).resolve();
        kick();
      },
      (error: unknown) => {
        failure = storageUnavailable(error);
        inFlight = undefined;
        for (const waiter of waiters.splice(0)) waiter.reject(failure);
      },
    );
  }

  return {
    committed() {
      if (failure !== undefined) return Promise.reject(failure);
      committed += 1;
      const done = wait(committed);
      kick();
      return done;
    },
    barrier() {
      if (failure !== undefined) return Promise.reject(failure);
      return synced >= committed ? undefined : wait(committed);
    },
    get failure() {
      return failure;
    },
    async close() {
      while (inFlight !== undefined) await inFlight;
      await handle?.close();
      handle = undefined;
    },
  };
}
