import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import { serialiseBaseline, signBaseline, verifyBaseline, type Baseline } from './baseline.js';
import { compareEntries, type Change } from './compare.js';
import { FimError } from './errors.js';
import { scanTargets } from './scan.js';
import type { Target } from './watched.js';

/** The signing key's purpose in the key store: outside every watched path, wrapped by the master key. */
export const fimKeyPurpose = 'fim';

export interface FimDeps {
  readonly keys: Pick<Keys, 'signer' | 'signingPublicKey'>;
  readonly clock: Clock;
  /** What to watch now (watched.ts). */
  readonly targets: readonly Target[];
  readonly baselineFile: string;
}

export interface BaselineMade {
  readonly file: string;
  readonly entries: number;
  readonly bytes: number;
  readonly at: string;
}

export interface CheckResult {
  readonly changes: Change[];
  /** Files compared (now). */
  readonly files: number;
  /** When the baseline was made. */
  readonly baselineAt: string;
}

export interface Fim {
  /** Scans every watched path and writes a new signed baseline (atomically: the old one stays until the new one is whole). */
  makeBaseline(): Promise<BaselineMade>;
  /** Compares the files with the baseline; `fim-baseline-missing` or `fim-baseline-invalid` when there is none to trust. */
  check(): Promise<CheckResult>;
  /** Whether a baseline file exists (valid or not). */
  hasBaseline(): Promise<boolean>;
  /** Whether this deployment ever signed a baseline (its `fim` signing key exists): a baseline missing then went missing. */
  everBaselined(): Promise<boolean>;
}

/** File integrity monitoring (NIST SP 800-53 SI-7; PCI DSS 4.0 req. 11.5.2): a signed baseline and checks against it. */
export function createFim({ keys, clock, targets, baselineFile }: FimDeps): Fim {
  // The baseline is never an entry of itself (a root may hold the data directory).
  const scan = async (which: readonly Target[]) => (await scanTargets(which)).filter((e) => e.path !== resolve(baselineFile));
  async function readBaseline(): Promise<Baseline> {
    let text: string;
    try {
      text = await readFile(baselineFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FimError('fim-baseline-missing', `no file integrity baseline at ${baselineFile}; make one with \`tresor fim baseline\``, { status: 500, expose: true });
      throw error;
    }
    return verifyBaseline(text, (version) => keys.signingPublicKey(fimKeyPurpose, version));
  }

  return {
    async makeBaseline() {
      const entries = await scan(targets);
      const baseline = signBaseline(await keys.signer(fimKeyPurpose), targets, entries, clock.now());
      const text = serialiseBaseline(baseline);
      mkdirSync(dirname(baselineFile), { recursive: true, mode: 0o700 });
      // Written beside, fsynced, renamed over: a crash leaves the old baseline or the new one, never half of one.
      const temporary = `${baselineFile}.${randomBytes(6).toString('hex')}.tmp`;
      const file = await open(temporary, 'wx', 0o600);
      try {
        await file.writeFile(text, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      try {
        await rename(temporary, baselineFile);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      return { file: baselineFile, entries: entries.length, bytes: Buffer.byteLength(text), at: baseline.at };
    },
    async check() {
      const baseline = await readBaseline();
      // The baseline's own targets as well as today's: a path dropped from the configuration is still checked.
      const known = new Set(targets.map((t) => t.path));
      const all = [...targets, ...baseline.targets.filter((t) => !known.has(t.path))];
      const entries = await scan(all);
      return { changes: compareEntries(baseline.entries, entries), files: entries.length, baselineAt: baseline.at };
    },
    async hasBaseline() {
      return stat(baselineFile).then(
        () => true,
        () => false,
      );
    },
    async everBaselined() {
      return (await keys.signingPublicKey(fimKeyPurpose, 1)) !== undefined;
    },
  };
}
