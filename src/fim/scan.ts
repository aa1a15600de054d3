import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, opendir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFiles } from './hash-files.js';
import type { Target } from './watched.js';

/** One watched file as the baseline records it. */
export interface Entry {
  /** Absolute path. */
  readonly path: string;
  /** SHA-256 of the contents (of the link text for a symbolic link), hex; null for a secret or a file that is neither. */
  readonly sha256: string | null;
  readonly size: number;
  /** The file type and permission bits, octal as git writes them (`100644`, `120777`). */
  readonly mode: string;
  readonly uid: number;
}

const defaults = {
  // The worker's one read buffer: memory stays this, whatever the file sizes.
  bufferBytes: 256 * 1024,
};

const modeOf = (stats: Stats) => stats.mode.toString(8).padStart(6, '0');
const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/**
 * Every file under the targets, sorted by path, each hashed with SHA-256 in a worker thread
 * (hash-files.ts), streamed through a fixed buffer. Directories are walked without following
 * symbolic links inside them (a link is recorded as a link: no loops, nothing outside the tree);
 * a target that is itself a link (a `node_modules` linked in) is followed. A missing target
 * yields no entries.
 */
export async function scanTargets(targets: readonly Target[], options: Partial<typeof defaults> = {}): Promise<Entry[]> {
  const { bufferBytes } = { ...defaults, ...options };
  const entries: Entry[] = [];
  const toHash: Array<{ path: string; stats: Stats }> = [];
  const meta = (path: string, stats: Stats, sha256: string | null): Entry => ({ path, sha256, size: stats.size, mode: modeOf(stats), uid: stats.uid });

  async function visit(path: string, stats: Stats): Promise<void> {
    if (stats.isDirectory()) {
      let dir;
      try {
        dir = await opendir(path);
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      for await (const dirent of dir) {
        const child = join(path, dirent.name);
        let childStats: Stats;
        try {
          childStats = await lstat(child);
        } catch (error) {
          if (isMissing(error)) continue;
          throw error;
        }
        await visit(child, childStats);
      }
    } else if (stats.isFile()) {
      toHash.push({ path, stats });
    } else if (stats.isSymbolicLink()) {
      const text = await readlink(path).catch(() => '');
      entries.push(meta(path, stats, createHash('sha256').update(text, 'utf8').digest('hex')));
    } else {
      entries.push(meta(path, stats, null));
    }
  }

  for (const target of targets) {
    let stats: Stats;
    try {
      stats = await stat(target.path);
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    if (target.kind === 'secret') entries.push(meta(target.path, stats, null));
    else await visit(target.path, stats);
  }

  const digests = await hashFiles(toHash.map((f) => f.path), bufferBytes);
  toHash.forEach(({ path, stats }, i) => entries.push(meta(path, stats, digests[i] ?? null)));
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
