import { statSync } from 'node:fs';

/**
 * What a SQLite data set's files look like now: the database file and its write-ahead log, each
 * by inode, size and modification time in nanoseconds. Any commit changes the log (or, after a
 * checkpoint, the file); a file swapped in (a restore) has another inode. Equal stamps taken
 * before and after mean nothing was written in between.
 */
export function fileStamp(file: string): string {
  const parts: string[] = [];
  for (const path of [file, `${file}-wal`]) {
    const found = statSync(path, { bigint: true, throwIfNoEntry: false });
    parts.push(found === undefined ? '-' : `${found.ino}:${found.size}:${found.mtimeNs}`);
  }
  return parts.join('/');
}
