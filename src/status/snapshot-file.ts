import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { StatusSnapshot } from './types.js';

/**
 * The last snapshot on disk, written atomically (a temporary file renamed over the old one, so a
 * crash leaves the old or the new, never half), so that the page has something true to say after
 * a restart even before the database answers. It holds only what the page shows publicly.
 */
export async function writeSnapshotFile(path: string, snapshot: StatusSnapshot): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(snapshot), { mode: 0o644 });
  await rename(temporary, path);
}

/** The snapshot a previous run left, or undefined (none, unreadable, another format). */
export function readSnapshotFile(path: string): StatusSnapshot | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StatusSnapshot>;
    if (parsed.format !== 'tresor-status/1' || !Array.isArray(parsed.components) || !Array.isArray(parsed.entries) || !Array.isArray(parsed.days)) return undefined;
    return parsed as StatusSnapshot;
  } catch {
    return undefined;
  }
}
