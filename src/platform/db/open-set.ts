import { StorageError } from './errors.js';

export interface OpenSetOptions<H> {
  /** Most data sets open at once (opening, open or closing). */
  readonly maxOpen: number;
  /** How long an open waits for a slot when every open data set is in use, before a 503. */
  readonly waitMs: number;
  open(id: string, create: boolean): Promise<H>;
  /** Closes a handle; called only when no lease on it is held. */
  close(id: string, handle: H): Promise<void>;
  /** After a data set closed: whatever was cached for it goes too. */
  onClosed?(id: string): void;
}

export interface Lease<H> {
  readonly handle: H;
  /** Idempotent. */
  release(): void;
}

export interface OpenSet<H> {
  /**
   * The data set, opened if needed, held open until `release`: a data set under a lease is
   * never closed. `transient` (background jobs): if this lease opened it, it closes again at
   * release, so a walk over every tenant does not push the tenants in use out of the set.
   */
  acquire(id: string, options?: { create?: boolean; transient?: boolean }): Promise<Lease<H>>;
  /** The handle when the data set is open and not being replaced, for a lease without a wait. */
  acquireOpen(id: string): Lease<H> | undefined;
  /** A request is using the data set: it stays open after a transient lease ends, and counts as just used. */
  keep(id: string): void;
  /**
   * Holds new leases, waits for the held ones, closes the data set and runs `fn` (a restore's
   * install, a move to another region); leases asked for meanwhile wait until `fn` is done, so
   * `fn` must not lease the same data set from this set itself.
   */
  exclusive(id: string, fn: () => Promise<void>): Promise<void>;
  /** Data sets open now (opening, open or closing). */
  size(): number;
  isOpen(id: string): boolean;
  closeAll(): Promise<void>;
}

interface Entry<H> {
  readonly id: string;
  handle: H | undefined;
  opening: Promise<H> | undefined;
  users: number;
  lastUsed: number;
  transient: boolean;
  /** A lease waiting for the data set to be free (eviction never picks a data set with waiters). */
  held: Promise<void> | undefined;
}

// 503 + Retry-After: every open data set is in use by a request; one is free again shortly.
const busy = () => new StorageError('storage-unavailable', 'Every open data set is in use; retry shortly.', { status: 503, expose: true, headers: { 'retry-after': '1' } });

/**
 * A bounded set of open data sets, least recently used first out. Each tenant's data set costs
 * file descriptors and memory (SQLite: two connections, their page caches and statements) while
 * open; the set keeps at most `maxOpen` of them and closes the least recently used idle one to
 * make room. Leases count the users of each data set, so one in use is never closed under a
 * request; a data set's handle closes only once its group-commit queue is drained (its `close`).
 */
export function createOpenSet<H>(options: OpenSetOptions<H>): OpenSet<H> {
  const entries = new Map<string, Entry<H>>();
  const closing = new Map<string, Promise<void>>();
  // Data sets under `exclusive`: a lease waits here until `fn` is done, whether or not the data
  // set was open (the entry is gone once closed, so the entry's own `held` alone would not stop it).
  const holds = new Map<string, Promise<void>>();
  let clock = 0;
  let waiters: Array<() => void> = [];
  let shut = false;

  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const w of woken) w();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));

  function closeEntry(entry: Entry<H>): Promise<void> {
    entries.delete(entry.id);
    const handle = entry.handle as H;
    entry.handle = undefined;
    const done = options
      .close(entry.id, handle)
      .catch(() => undefined)
      .finally(() => {
        closing.delete(entry.id);
        options.onClosed?.(entry.id);
        wake();
      });
    closing.set(entry.id, done);
    return done;
  }

  function evictOne(): boolean {
    let victim: Entry<H> | undefined;
    for (const entry of entries.values()) {
      if (entry.users > 0 || entry.handle === undefined || entry.held !== undefined) continue;
      if (victim === undefined || entry.lastUsed < victim.lastUsed) victim = entry;
    }
    if (victim === undefined) return false;
    void closeEntry(victim);
    return true;
  }

  // A lease does not make a data set recently used: a background visit's queries would then push
  // the data sets requests use out of the set. Requests mark their use (`keep`, or an acquire
  // that is not transient).
  function leaseOf(entry: Entry<H>): Lease<H> {
    entry.users += 1;
    let released = false;
    return {
      handle: entry.handle as H,
      release() {
        if (released) return;
        released = true;
        entry.users -= 1;
        if (entry.users > 0) return;
        if (entry.transient && entries.get(entry.id) === entry && entry.held === undefined) void closeEntry(entry);
        else wake();
      },
    };
  }

  async function acquire(id: string, { create = false, transient = false }: { create?: boolean; transient?: boolean } = {}): Promise<Lease<H>> {
    const deadline = performance.now() + options.waitMs;
    for (;;) {
      if (shut) throw new StorageError('storage-unavailable', 'storage is closed', { status: 503 });
      const hold = holds.get(id);
      if (hold !== undefined) {
        await hold;
        continue;
      }
      const entry = entries.get(id);
      if (entry !== undefined) {
        if (entry.held !== undefined) {
          await entry.held;
          continue;
        }
        if (!transient) {
          entry.transient = false;
          entry.lastUsed = ++clock;
        }
        if (entry.handle !== undefined) return leaseOf(entry);
        // Opening: a failure is the caller's failure too (and forgotten, so the next call retries).
        await entry.opening;
        continue;
      }
      const pendingClose = closing.get(id);
      if (pendingClose !== undefined) {
        await pendingClose;
        continue;
      }
      if (entries.size + closing.size >= options.maxOpen && !evictOne()) {
        const left = deadline - performance.now();
        if (left <= 0) throw busy();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([changed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
        clearTimeout(timer);
        continue;
      }
      if (entries.size + closing.size >= options.maxOpen) {
        // The evicted one is closing; its slot is free once it has.
        await Promise.race(closing.values());
        continue;
      }
      const fresh: Entry<H> = { id, handle: undefined, opening: undefined, users: 0, lastUsed: ++clock, transient, held: undefined };
      fresh.opening = options.open(id, create).then(
        (handle) => {
          fresh.handle = handle;
          fresh.opening = undefined;
          return handle;
        },
        (error: unknown) => {
          entries.delete(id);
          wake();
          throw error;
        },
      );
      entries.set(id, fresh);
      await fresh.opening;
      if (entries.get(id) === fresh) return leaseOf(fresh);
    }
  }

  return {
    acquire,
    acquireOpen(id) {
      const entry = entries.get(id);
      if (entry === undefined || entry.handle === undefined || entry.held !== undefined || holds.has(id)) return undefined;
      return leaseOf(entry);
    },
    keep(id) {
      const entry = entries.get(id);
      if (entry === undefined) return;
      entry.transient = false;
      entry.lastUsed = ++clock;
    },
    async exclusive(id, fn) {
      for (let pending = holds.get(id); pending !== undefined; pending = holds.get(id)) await pending;
      let done!: () => void;
      holds.set(
        id,
        new Promise<void>((resolve) => (done = resolve)),
      );
      try {
        const entry = entries.get(id);
        if (entry === undefined) {
          // Not open in this process: nothing to close; leases arriving meanwhile wait for `fn`.
          await closing.get(id);
          await fn();
          return;
        }
        const target = entry;
        target.held = holds.get(id);
        try {
          if (target.opening !== undefined) await target.opening.catch(() => undefined);
          while (target.users > 0) await changed();
          if (target.handle !== undefined && entries.get(id) === target) await closeEntry(target);
          else entries.delete(id);
          await fn();
        } finally {
          target.held = undefined;
        }
      } finally {
        holds.delete(id);
        done();
        wake();
      }
    },
    size: () => entries.size + closing.size,
    isOpen: (id) => entries.has(id) || closing.has(id),
    async closeAll() {
      shut = true;
      for (const entry of [...entries.values()]) {
        if (entry.opening !== undefined) await entry.opening.catch(() => undefined);
        if (entry.handle !== undefined) await closeEntry(entry);
      }
      await Promise.all(closing.values());
      wake();
    },
  };
}
