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

/**
 * Where a tmpfs cannot be mounted: a skip with `reason`, except with TRESOR_REQUIRE_TMPFS=1 (CI,
 * running as root), where the disk-full test must run and this fails it instead.
 */
export function noTinyDisk(context: { skip(message?: string): void }, reason: string): void {
  if (process.env['TRESOR_REQUIRE_TMPFS'] === '1') throw new Error(`TRESOR_REQUIRE_TMPFS=1 but ${reason}: the disk-full test did not run`);
  context.skip(`${reason}; TRESOR_REQUIRE_TMPFS=1 makes this a failure`);
}
