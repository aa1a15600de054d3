import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BackupError } from './errors.js';
import type { Repository } from './repository.js';

/**
 * Repository locks, so that a prune never deletes a chunk a running backup has just decided to
 * reuse (the backup lists the chunks it may skip when it starts).
 *
 * As restic does: a backup (or a restore, or a verify) takes a *shared* lock, a prune an
 * *exclusive* one. Each writes its own lock object first and lists the others second, so of two
 * processes starting at once at least one sees the other; when both do, the newer lock backs off.
 * A holder refreshes its lock every minute; a lock not refreshed for `staleAfterMs` belongs to a
 * process that died (kill -9, power loss) and is ignored and removed, so a crashed backup never
 * blocks pruning for good; a lock of a process on this same host that no longer runs is stale at once. Plain JSON, no secret: a lock names a host and a process id only.
 */
export type LockKind = 'shared' | 'exclusive';

interface LockBody {
  readonly format: 'tresor-backup-lock/1';
  readonly kind: LockKind;
  readonly purpose: string;
  readonly host: string;
  readonly pid: number;
  readonly refreshedAt: number;
}

export interface RepositoryLock {
  readonly name: string;
  release(): Promise<void>;
}

export interface LockOptions {
  readonly now?: () => number;
  /** How often the holder rewrites its lock; default one minute. */
  readonly refreshMs?: number;
  /** A lock older than this is a dead process's; default 10 minutes. */
  readonly staleAfterMs?: number;
  /** How long the older of two conflicting new locks gives the newer one to back off; default 1 s. */
  readonly settleMs?: number;
}

const prefix = 'locks';

/** A lock of a process on this host that no longer runs (killed): stale at once, not after staleAfterMs. */
function deadHere(lock: LockBody): boolean {
  if (lock.host !== hostname() || lock.pid === process.pid) return false;
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function readLock(repository: Repository, name: string): Promise<LockBody | undefined> {
  try {
    const body = JSON.parse((await repository.get(name)).toString('utf8')) as LockBody;
    return body.format === 'tresor-backup-lock/1' ? body : undefined;
  } catch {
    // Gone meanwhile (released), or unreadable: a lock that cannot be read holds nothing.
    return undefined;
  }
}

/**
 * Takes a lock of `kind` on the repository or throws `backup-busy` naming the holder. A shared
 * lock conflicts with exclusive ones only; an exclusive lock with every other lock.
 */
export async function lockRepository(repository: Repository, kind: LockKind, purpose: string, options: LockOptions = {}): Promise<RepositoryLock> {
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 60_000;
  const staleAfterMs = options.staleAfterMs ?? 600_000;
  const name = `${prefix}/${now().toString(36)}-${randomBytes(6).toString('hex')}.lock`;
  const body = (): Buffer => Buffer.from(JSON.stringify({ format: 'tresor-backup-lock/1', kind, purpose, host: hostname(), pid: process.pid, refreshedAt: now() } satisfies LockBody), 'utf8');
  await repository.put(name, body());
  const conflicting = async (): Promise<{ name: string; held: LockBody } | undefined> => {
    for (const other of await repository.list(prefix)) {
      if (other === name || !other.endsWith('.lock')) continue;
      const held = await readLock(repository, other);
      if (held === undefined) continue;
      if (now() - held.refreshedAt > staleAfterMs || deadHere(held)) {
        await repository.delete(other);
        continue;
      }
      if (kind === 'exclusive' || held.kind === 'exclusive') return { name: other, held };
    }
    return undefined;
  };
  try {
    let conflict = await conflicting();
    // Two that wrote before either looked see each other: the newer lock (by name: time, then
    // random) backs off at once, the older gives it `settleMs` to go and looks again. A newer
    // lock still there then won before this one was written, so this one backs off: of two
    // starting at once exactly one holds the repository.
    if (conflict !== undefined && conflict.name > name) {
      await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 1000));
      conflict = await conflicting();
    }
    if (conflict !== undefined) {
      const { held } = conflict;
      throw new BackupError('backup-busy', `the repository is locked by a ${held.purpose} (${held.kind}, ${held.host} process ${held.pid}, refreshed ${new Date(held.refreshedAt).toISOString()}); try again when it has finished`, { status: 409, expose: true });
    }
  } catch (error) {
    await repository.delete(name).catch(() => undefined);
    throw error;
  }
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = repository.put(name, body()).catch(() => undefined);
  }, refreshMs);
  timer.unref();
  return {
    name,
    async release() {
      clearInterval(timer);
      await refreshing;
      await repository.delete(name);
    },
  };
}

/** Runs `fn` under a lock, released afterwards whatever happens. */
export async function withRepositoryLock<T>(repository: Repository, kind: LockKind, purpose: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await lockRepository(repository, kind, purpose, options);
  try {
    return await fn();
  } finally {
    await lock.release().catch(() => undefined);
  }
}
