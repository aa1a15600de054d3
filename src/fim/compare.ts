import type { Entry } from './scan.js';

/** What happened to one file since the baseline. */
export interface Change {
  readonly path: string;
  /** `modified`: contents, size or type; `mode-changed`: only permissions or owner. */
  readonly change: 'modified' | 'added' | 'removed' | 'mode-changed';
}

/** One change per file that differs, sorted by path; both lists sorted by path (as scans are). */
export function compareEntries(baseline: readonly Entry[], current: readonly Entry[]): Change[] {
  const before = new Map(baseline.map((e) => [e.path, e]));
  const changes: Change[] = [];
  const seen = new Set<string>();
  for (const now of current) {
    seen.add(now.path);
    const was = before.get(now.path);
    if (was === undefined) changes.push({ path: now.path, change: 'added' });
    else if (was.sha256 !== now.sha256 || was.size !== now.size || typeOf(was.mode) !== typeOf(now.mode)) changes.push({ path: now.path, change: 'modified' });
    else if (was.mode !== now.mode || was.uid !== now.uid) changes.push({ path: now.path, change: 'mode-changed' });
  }
  for (const was of baseline) if (!seen.has(was.path)) changes.push({ path: was.path, change: 'removed' });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The file type part of an octal mode (`100` a file, `120` a link). */
const typeOf = (mode: string) => mode.slice(0, -4);
