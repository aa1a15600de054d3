import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BackupError } from './errors.js';
import type { Keys } from '../keys/index.js';
import { applyRetention, keptUntil, type RetentionPolicy, type RetentionResult } from './retention.js';

/**
 * Physical backups of a PostgreSQL deployment with pgBackRest (issue 8; SPEC B1–B4): the whole
 * cluster, continuous WAL archiving for point-in-time recovery, from the tool operators already
 * trust. Tresor drives the `pgbackrest` command (in TLS server mode towards the database hosts,
 * as the configuration says) and reads `pgbackrest info --output=json`:
 *
 * - **Encryption**: the repository is aes-256-cbc (`repo1-cipher-type`); its passphrase is derived
 *   from the backup key (backup-keys.ts) and handed to pgBackRest in its environment
 *   (PGBACKREST_REPO1_CIPHER_PASS), never on a command line or in a file Tresor writes.
 * - **Retention**: the same policy as the tenant snapshots (retention.ts: everything of the last
 *   48 hours, one per day for 30 days, one per month for 13 months, and the newest backup a
 *   restore drill proved): Tresor decides, per full backup, and expires the rest by label
 *   (`expire --set`, which takes the dependent differential and incremental backups along); then
 *   `expire` drops the WAL no kept backup needs (repo1-retention-archive in the configuration).
 * - **Proof**: `verify` checks every file in the repository against its checksum; the restore
 *   drill (physical-drill.ts) restores to a point in time and checks what comes back, and marks
 *   the backup it used with the annotation `tresor-restore-drill`.
 */

export interface PhysicalSettings {
  /** pgBackRest's configuration file on this host (the repository side). */
  readonly configFile: string;
  readonly stanza: string;
  /** How to run pgbackrest (as root: through setpriv as the repository's owner). */
  readonly command: readonly string[];
}

export interface PhysicalBackup {
  readonly label: string;
  readonly type: 'full' | 'diff' | 'incr';
  /** The full backup this one depends on (itself for a full one). */
  readonly full: string;
  readonly startedAt: number;
  readonly stoppedAt: number;
  readonly sizeBytes: number;
  readonly repositoryBytes: number;
  readonly walStart: string;
  readonly walStop: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly error: boolean;
}

export interface PhysicalInfo {
  readonly ok: boolean;
  readonly message: string;
  readonly cipher: string;
  readonly backups: readonly PhysicalBackup[];
  readonly archive: { readonly min: string; readonly max: string } | undefined;
}

/** The annotation a passed restore drill leaves on the backup it restored. */
export const drillAnnotation = 'tresor-restore-drill';

export interface PhysicalBackups {
  readonly settings: PhysicalSettings;
  /** Runs `pgbackrest <args>` for this stanza; resolves with stdout; a failure is a BackupError with pgBackRest's last lines. */
  exec(args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<string>;
  info(): Promise<PhysicalInfo>;
  /** A backup now; resolves with the new backup. */
  backup(type: 'full' | 'diff' | 'incr', reason: string): Promise<PhysicalBackup>;
  verify(): Promise<{ ok: boolean; output: string }>;
  /** The retention policy over the full backups; expires what it drops. */
  retain(policy: RetentionPolicy, now: number): Promise<RetentionResult>;
  annotate(label: string, key: string, value: string): Promise<void>;
  /** The environment every pgbackrest process gets (the passphrase). */
  environment(): NodeJS.ProcessEnv;
}

interface RawBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  prior: string | null;
  error?: boolean;
  timestamp: { start: number; stop: number };
  info: { size: number; repository: { size: number; delta: number } };
  archive: { start: string; stop: string };
  annotation?: Record<string, string>;
}

/** pgBackRest's label of a backup names its full backup first (`20261201-221044F` / `…F_20261202-…D`). */
const fullOf = (label: string) => label.split('_')[0]!;

export function parseInfo(json: string, stanza: string): PhysicalInfo {
  // system-id is a 64-bit integer beyond JSON numbers' exact range: never used, left as parsed.
  const stanzas = JSON.parse(json) as Array<{ name: string; status: { code: number; message: string }; cipher: string; backup: RawBackup[]; archive: Array<{ min: string | null; max: string | null }> }>;
  const entry = stanzas.find((s) => s.name === stanza);
  if (entry === undefined) return { ok: false, message: `no stanza ${stanza} in the repository`, cipher: 'none', backups: [], archive: undefined };
  const archive = entry.archive.find((a) => a.min !== null && a.max !== null);
  return {
    ok: entry.status.code === 0,
    message: entry.status.message,
    cipher: entry.cipher,
    backups: entry.backup.map((b) => ({
      label: b.label,
      type: b.type,
      full: fullOf(b.label),
      startedAt: b.timestamp.start * 1000,
      stoppedAt: b.timestamp.stop * 1000,
      sizeBytes: b.info.size,
      repositoryBytes: b.info.repository.delta,
      walStart: b.archive.start,
      walStop: b.archive.stop,
      annotations: b.annotation ?? {},
      error: b.error === true,
    })),
    archive: archive === undefined ? undefined : { min: archive.min!, max: archive.max! },
  };
}

/**
 * The full backups as retention sees them: taken at the stop of their newest dependent (a day
 * with a full and later incrementals is represented by the state the newest one restores), and
 * verified when a restore drill passed on any backup of the chain.
 */
export function retentionView(backups: readonly PhysicalBackup[]): Array<{ id: string; takenAt: number; verified: boolean }> {
  const chains = new Map<string, { id: string; takenAt: number; verified: boolean }>();
  for (const b of backups) {
    if (b.error) continue;
    const chain = chains.get(b.full) ?? { id: b.full, takenAt: 0, verified: false };
    chain.takenAt = Math.max(chain.takenAt, b.stoppedAt);
    chain.verified ||= b.annotations[drillAnnotation] !== undefined;
    chains.set(b.full, chain);
  }
  return [...chains.values()];
}

/**
 * Master key versions held for physical backups (docs/backups.md, *Keys kept for backups*): each
 * full backup holds every version on hand when Tresor first sees it (what its key store is
 * wrapped under is not recorded in pgBackRest), until retention expires it; the WAL archive
 * window (`physical-archive:<ms>`, held by a master rotation) is released once the oldest kept
 * full backup started after that rotation — no replay can reach a moment that needed it then.
 */
async function holdKeysForPhysical(keyHolds: PhysicalKeyHolds, backups: readonly PhysicalBackup[], retention?: RetentionResult & { policy: RetentionPolicy }): Promise<void> {
  const view = retentionView(backups);
  const kept = new Set(view.map((v) => `physical:${v.id}`));
  const holders = new Set((await keyHolds.holds()).map((h) => h.holder));
  const oldestStart = Math.min(...backups.filter((b) => !b.error && b.type === 'full').map((b) => b.startedAt));
  await keyHolds.releaseHolds(
    [...holders].filter((h) => (h.startsWith('physical:') && !kept.has(h)) || (h.startsWith('physical-archive:') && Number(h.slice('physical-archive:'.length)) < oldestStart)),
  );
  for (const v of view) {
    const reasons = retention?.keep.find((k) => k.id === v.id)?.reasons;
    const until = reasons === undefined || retention === undefined ? null : keptUntil(v.takenAt, reasons, retention.policy);
    await keyHolds.hold(`physical:${v.id}`, holders.has(`physical:${v.id}`) ? [] : 'all', until);
  }
}

export type PhysicalKeyHolds = Pick<Keys, 'holds' | 'hold' | 'releaseHolds'>;

export function createPhysicalBackups(settings: PhysicalSettings, passphrase: () => string, keyHolds?: PhysicalKeyHolds): PhysicalBackups {
  if (!existsSync(settings.configFile)) throw new BackupError('physical-not-configured', `no pgBackRest configuration at ${settings.configFile}`, { status: 500, expose: true });
  const environment = (): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'], LC_ALL: 'C.UTF-8', PGBACKREST_REPO1_CIPHER_PASS: passphrase() });
  const exec: PhysicalBackups['exec'] = (args, options = {}) => {
    const [file, ...prefix] = settings.command;
    const argv = [...prefix, `--config=${settings.configFile}`, `--stanza=${settings.stanza}`, ...args];
    return new Promise((resolve, reject) => {
      execFile(file!, argv, { env: { ...environment(), ...options.env }, timeout: options.timeoutMs ?? 3_600_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        // pgBackRest's own messages name options, paths and WAL segments, never data or the passphrase.
        const detail = `${stderr}\n${stdout}`.split('\n').filter((line) => /ERROR|WARN|HINT/.test(line)).slice(-3).join(' ').trim();
        reject(new BackupError('physical-failed', `pgbackrest ${args[0] ?? ''} failed${error.killed ? ' (timed out)' : ''}: ${detail || error.message}`, { status: 500, expose: true }));
      });
    });
  };
  const info = async () => parseInfo(await exec(['info', '--output=json'], { timeoutMs: 120_000 }), settings.stanza);
  return {
    settings,
    exec,
    info,
    environment,
    async backup(type, reason) {
      const before = new Set((await info()).backups.map((b) => b.label));
      await exec(['backup', `--type=${type}`, `--annotation=tresor-reason=${reason.replace(/[^\w.:-]/g, '_')}`]);
      const made = (await info()).backups.filter((b) => !before.has(b.label)).at(-1);
      if (made === undefined) throw new BackupError('physical-failed', 'pgbackrest backup reported success but no new backup is in the repository', { status: 500, expose: true });
      if (keyHolds !== undefined) await holdKeysForPhysical(keyHolds, (await info()).backups);
      return made;
    },
    async verify() {
      let output: string;
      try {
        output = await exec(['verify', '--log-level-console=info']);
      } catch (error) {
        return { ok: false, output: (error as Error).message };
      }
      // pgBackRest 2.45's verify exits 0 and reports damage in its summary ("status: error"),
      // naming each file that failed ("invalid result <file>: <reason>").
      const invalid = output.split('\n').filter((line) => line.includes('invalid result')).map((line) => line.replace(/^.*invalid result /, '').trim());
      const bad = /status: error/.test(output) || invalid.length > 0;
      return { ok: !bad, output: bad ? (invalid.length > 0 ? invalid.slice(0, 10).join('; ') : 'status: error in the summary') : 'every backup and WAL file matches its checksum' };
    },
    async retain(policy, now) {
      const current = await info();
      const result = applyRetention(retentionView(current.backups), now, policy);
      for (const label of result.drop) await exec(['expire', `--set=${label}`]);
      // WAL that no kept backup needs (repo1-retention-archive), and anything pgBackRest's own backstop drops.
      await exec(['expire']);
      if (keyHolds !== undefined) await holdKeysForPhysical(keyHolds, (await info()).backups, { ...result, policy });
      return result;
    },
    async annotate(label, key, value) {
      await exec(['annotate', `--set=${label}`, `--annotation=${key}=${value}`]);
    },
  };
}

/** The newest PostgreSQL server binaries from the Debian packages (/usr/lib/postgresql/N/bin). */
export function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new BackupError('physical-not-configured', 'no PostgreSQL server binaries found (apt-get install postgresql)', { status: 500, expose: true });
  return join(root, versions[0]!, 'bin');
}

/**
 * One round of the server's physical backup schedule (run every 10 minutes by the backups
 * leader): a full backup when the newest good full one is older than `fullEveryMs` — or there is
 * none — then retention. Resolves with what it did; a failure rejects (the caller logs and
 * audits it, and the next round tries again).
 */
export async function physicalRound(physical: PhysicalBackups, options: { fullEveryMs: number; now: () => number; retention: RetentionPolicy }): Promise<{ made: PhysicalBackup; expired: readonly string[] } | undefined> {
  const info = await physical.info();
  const newest = Math.max(0, ...info.backups.filter((b) => !b.error && b.type === 'full').map((b) => b.stoppedAt));
  if (options.now() - newest < options.fullEveryMs) return undefined;
  const made = await physical.backup('full', 'scheduled');
  const retained = await physical.retain(options.retention, options.now());
  return { made, expired: retained.drop };
}
