import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** Mounts a tmpfs of `size` on `dir` (root only) and returns its unmount; undefined where that is not allowed. */
export function mountTinyDisk(dir: string, size: string): (() => void) | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return () => execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
}
