import type { Finding, ProbeRule } from '../types.js';

/** What the file integrity check hands the rule: each changed file, and the watched paths. */
export interface FimReading {
  readonly changes: ReadonlyArray<{ readonly path: string; readonly change: 'modified' | 'added' | 'removed' | 'mode-changed' }>;
  /** The watched paths (directories and files), to group changes beyond `maxFileAlerts`. */
  readonly roots: readonly string[];
  /** The baseline file itself could not be trusted (missing after it existed, or a signature that fails). */
  readonly baseline?: { readonly path: string; readonly problem: 'missing' | 'invalid' };
}

// An upgrade or `npm ci` without a re-baseline changes thousands of files: one alert each would
// bury every other alert. Beyond this many, one alert per watched path counts the rest.
const defaults = { maxFileAlerts: 25 };

const verbs = { modified: 'was modified', added: 'was added', removed: 'was removed', 'mode-changed': 'had its permissions or owner changed' } as const;

/** The longest watched path that holds `path` (the path itself when none does). */
const rootOf = (path: string, roots: readonly string[]) => roots.filter((r) => path === r || path.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0] ?? path;

/**
 * File integrity (NIST SP 800-53 SI-7): a file Tresor runs from — its code, a dependency, its
 * configuration, its TLS files, the master key ring's mode or size — differs from the signed
 * baseline. One alert per file, the path its subject; never the file's contents.
 */
export const fimChanged: ProbeRule<FimReading, typeof defaults> = {
  kind: 'probe',
  id: 'fim.changed',
  severity: 'high',
  title: 'A file Tresor runs from changed',
  describe:
    'A file of Tresor’s installed code, its dependencies, its configuration or TLS files differs from the signed file integrity baseline (modified, added, removed, or its permissions changed). Code changed on the host can read every record passing through Tresor: find out who changed it before re-baselining. A baseline that does not verify is critical, one gone missing high: then no file could be checked.',
  defaults,
  evaluate(reading, config) {
    // The platform probe (probes.ts) hands every probe rule its own reading; this rule's comes
    // from the file integrity check (src/fim), so any other reading has nothing for it.
    if (!Array.isArray((reading as Partial<FimReading>).changes)) return [];
    const findings: Finding[] = [];
    if (reading.baseline !== undefined) {
      const { path, problem } = reading.baseline;
      findings.push({
        subject: path,
        summary: problem === 'invalid' ? `The file integrity baseline ${path} does not verify (changed, or signed by another key): no file could be checked` : `The file integrity baseline ${path} is missing: no file could be checked`,
        severity: problem === 'invalid' ? 'critical' : 'high',
        evidence: [],
      });
    }
    const limit = Math.max(0, config.maxFileAlerts);
    for (const { path, change } of reading.changes.slice(0, limit)) findings.push({ subject: path, summary: `${path} ${verbs[change]} since the file integrity baseline`, evidence: [] });
    const rest = new Map<string, number>();
    for (const { path } of reading.changes.slice(limit)) {
      const root = rootOf(path, reading.roots);
      rest.set(root, (rest.get(root) ?? 0) + 1);
    }
    for (const [root, count] of rest) findings.push({ subject: root, summary: `${count} more file(s) under ${root} changed since the file integrity baseline (beyond ${limit} alerted one by one)`, evidence: [] });
    return findings;
  },
};
