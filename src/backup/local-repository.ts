import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BackupError } from './errors.js';
import { checkObjectName, type Repository } from './repository.js';

/** A repository in a local directory, plus the clean-up only a local file system allows. */
const execFileAsync = promisify(execFile);

export interface LocalRepository extends Repository {
  /**
   * Removes temporary files of puts that never finished (the process was killed between write
   * and rename) and are older than `olderThanMs`, so a put still running elsewhere is left
   * alone. Returns how many it removed. They are never listed, only wasting space.
   */
  removeStaleTemporaries(olderThanMs: number, now?: number): Promise<number>;
}

/**
 * Checks a `list` prefix: the beginning of an object name (`chunks/`, `snapshots/01J`), or ''
 * for everything. Same alphabet as names, so a prefix can never leave the repository.
 */
export function checkListPrefix(prefix: string): void {
  if (prefix === '') return;
  if (!/^[a-z0-9._/-]+$/.test(prefix) || prefix.startsWith('/') || prefix.includes('//') || prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new TypeError(`invalid object name prefix ${JSON.stringify(prefix)}`);
  }
}

/** The directory to start listing `prefix` from: the part up to its last `/`. */
export const listBase = (prefix: string): string => prefix.slice(0, Math.max(0, prefix.lastIndexOf('/')));

/** Whether objects under directory `dir` (a name prefix without trailing `/`) can match `prefix`. */
export const mayContain = (dir: string, prefix: string): boolean => `${dir}/`.startsWith(prefix) || prefix.startsWith(`${dir}/`);

/** Whether a directory entry is part of the repository: valid object names only (no `.tmp`, no `lost+found`). */
export function isObjectName(name: string): boolean {
  try {
    checkObjectName(name);
    return true;
  } catch {
    return false;
  }
}

// Temporary names: `<final name>.<12 hex>.tmp`, next to the final name so that rename(2) stays
// within one directory and file system (atomic, POSIX.1-2017 rename()).
const temporaryPattern = /\.[0-9a-f]{12}\.tmp$/;

/** Whether `name` is the temporary file of a put (what removeStaleTemporaries may delete). */
export const isTemporaryName = (name: string): boolean => temporaryPattern.test(name) && isObjectName(name.replace(temporaryPattern, ''));

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Maps a file system error to a BackupError. Exported for the test of the codes a test cannot
 * provoke as root (EACCES, EROFS, EDQUOT); ENOSPC is provoked for real on a tiny tmpfs.
 */
export function localRepositoryError(error: unknown, display: string, action: string, name?: string): BackupError {
  const code = codeOf(error);
  const what = name === undefined ? display : `${display}: ${name}`;
  switch (code ?? '') {
    case 'ENOSPC':
    case 'EDQUOT':
      return new BackupError('repository-full', `backup repository ${display} is full (${code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device'}) while trying to ${action}; nothing partial was kept, the live data is unaffected`, { status: 507, cause: error });
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      if (action === 'read') return new BackupError('object-missing', `backup object ${what} does not exist`, { status: 404, cause: error });
      break;
    case 'EACCES':
    case 'EPERM':
      return new BackupError('repository-unreachable', `backup repository ${display}: permission denied while trying to ${action}; the live data is unaffected`, { status: 503, cause: error });
    case 'EROFS':
      return new BackupError('repository-unreachable', `backup repository ${display} is on a read-only file system; the live data is unaffected`, { status: 503, cause: error });
    default:
      break;
  }
  const object = name === undefined || name === '' ? '' : ` ${name}`;
  return new BackupError('repository-unreachable', `backup repository ${display}: could not ${action}${object} (${code ?? 'error'}); the live data is unaffected`, { status: 503, cause: error });
}

/**
 * fsync(2) on a directory makes its entries (a rename, an unlink, a new subdirectory) durable;
 * without it, a power loss after put() resolved can bring back the old state. Some file systems
 * answer EINVAL (fsync of a directory is not supported there); then there is nothing more we
 * can do, and the rename is still atomic.
 */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (codeOf(error) !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/** Opens (creating it, mode 0700) a repository in `dir`: another disk, a mount, a NAS share. */
export async function openLocalRepository(dir: string): Promise<LocalRepository> {
  const root = resolve(dir);
  const display = root;
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    if (!(await stat(root)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    if (codeOf(error) === 'ENOTDIR' || codeOf(error) === 'EEXIST') {
      throw new BackupError('repository-invalid', `backup repository ${display} is not a directory`, { status: 500, expose: true, cause: error });
    }
    throw localRepositoryError(error, display, 'create the repository directory');
  }

  const pathOf = (name: string) => join(root, ...name.split('/'));

  /** mkdir -p, then makes each new directory entry durable up to the first that existed. */
  const ensureDirectory = async (dir: string) => {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created === undefined) return;
    for (let parent = dirname(dir); ; parent = dirname(parent)) {
      await syncDirectory(parent);
      if (parent === dirname(created) || parent === dirname(parent)) break;
    }
  };

  /** Calls `visit` for every file under `base` whose name is a valid object name or temporary. */
  const walk = async (base: string, visitDir: (dir: string) => boolean, visit: (name: string, path: string) => Promise<void> | void): Promise<void> => {
    let entries;
    try {
      entries = await readdir(base === '' ? root : pathOf(base), { withFileTypes: true });
    } catch (error) {
      if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const name = base === '' ? entry.name : `${base}/${entry.name}`;
      // Symbolic links and anything else the repository did not create are not objects.
      if (entry.isDirectory()) {
        if (isObjectName(name) && visitDir(name)) await walk(name, visitDir, visit);
      } else if (entry.isFile()) {
        await visit(name, pathOf(name));
      }
    }
  };

  // Deferred puts: written to their temporaries, renamed only after a flush made them durable.
  let pending: Array<{ temporary: string; target: string; name: string }> = [];

  return {
    display,

    async flush() {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      try {
        // Contents are durable (put synced each); then the names: a crash in between leaves
        // temporaries, never a name without its content.
        for (let at = 0; at < batch.length; at += 64) await Promise.all(batch.slice(at, at + 64).map((p) => rename(p.temporary, p.target)));
        // The new names: one syncfs(2) of the repository's file system (coreutils `sync -f`)
        // instead of an fsync per directory; where it cannot run, each directory is synced.
        const dirs = [...new Set(batch.map((p) => dirname(p.target)))];
        try {
          await execFileAsync('sync', ['-f', root]);
        } catch {
          for (const dir of dirs) await syncDirectory(dir);
        }
      } catch (error) {
        await Promise.all(batch.map((p) => unlink(p.temporary).catch(() => undefined)));
        throw localRepositoryError(error, display, 'write', batch[0]?.name);
      }
    },

    async discard() {
      const batch = pending;
      pending = [];
      await Promise.all(batch.map((p) => unlink(p.temporary).catch(() => undefined)));
    },

    async put(name, data, options = {}) {
      checkObjectName(name);
      const target = pathOf(name);
      const dir = dirname(target);
      const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      let handle;
      try {
        await ensureDirectory(dir);
        handle = await open(temporary, 'wx', 0o600);
        await handle.writeFile(data);
        if (options.deferred === true) {
          // The content is made durable now, one object at a time on the thread pool: a flush of
          // a whole snapshot's packs at its end made the server's own commits wait behind it.
          await handle.datasync();
          await handle.close();
          handle = undefined;
          pending.push({ temporary, target, name });
          return;
        }
        await handle.sync();
        await handle.close();
        handle = undefined;
        await rename(temporary, target);
        await syncDirectory(dir);
      } catch (error) {
        await handle?.close().catch(() => undefined);
        // A full disk leaves a partial temporary: remove it now, not at the next clean-up.
        await unlink(temporary).catch(() => undefined);
        throw localRepositoryError(error, display, 'write', name);
      }
    },

    async get(name) {
      checkObjectName(name);
      try {
        return await readFile(pathOf(name));
      } catch (error) {
        throw localRepositoryError(error, display, 'read', name);
      }
    },

    async has(name) {
      checkObjectName(name);
      try {
        return (await stat(pathOf(name))).isFile();
      } catch (error) {
        if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return false;
        throw localRepositoryError(error, display, 'look up', name);
      }
    },

    async list(prefix) {
      checkListPrefix(prefix);
      const names: string[] = [];
      try {
        await walk(
          listBase(prefix),
          (dir) => mayContain(dir, prefix),
          (name) => {
            if (name.startsWith(prefix) && isObjectName(name)) names.push(name);
          },
        );
      } catch (error) {
        throw localRepositoryError(error, display, 'list', prefix);
      }
      return names.sort();
    },

    async delete(name) {
      checkObjectName(name);
      const target = pathOf(name);
      try {
        await unlink(target);
      } catch (error) {
        if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return;
        throw localRepositoryError(error, display, 'delete', name);
      }
      try {
        // Durable like put: retention deletes a manifest before the chunks only it used; a
        // crash must not bring back the manifest after its chunks are gone.
        await syncDirectory(dirname(target));
      } catch (error) {
        throw localRepositoryError(error, display, 'delete', name);
      }
    },

    async removeStaleTemporaries(olderThanMs, now = Date.now()) {
      let removed = 0;
      try {
        await walk(
          '',
          () => true,
          async (name, path) => {
            if (!isTemporaryName(name)) return;
            const info = await stat(path).catch(() => undefined);
            if (info === undefined || now - info.mtimeMs < olderThanMs) return;
            await unlink(path).then(
              () => (removed += 1),
              (error: unknown) => {
                if (codeOf(error) !== 'ENOENT') throw error;
              },
            );
          },
        );
      } catch (error) {
        throw localRepositoryError(error, display, 'remove stale temporary files');
      }
      return removed;
    },

    async close() {},
  };
}
