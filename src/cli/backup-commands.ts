import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Actor } from '../audit/index.js';
import { homeRegion, type Config } from '../config/index.js';
import type { Core } from '../app.js';
import { BackupError, type Backups, type Progress } from '../backup/index.js';
import type { CliIo, CliValues } from './io.js';
import { humanBytes, number } from './human-size.js';
import { formatTable } from './table.js';
import { Refusal, UsageError } from './usage-error.js';

/**
 * Progress of long work. On a terminal (`io.progress`: main.ts, when stderr is one) a bar per
 * data set, redrawn in place and cleared at the end, so the result line is not printed after a
 * stale bar. Elsewhere (cron, a pipe) no bar: a plain line to stderr every 10 s of long work only.
 */
function progressOf(io: CliIo): Progress & { end(): void } {
  const started = performance.now();
  let lastPlain = started;
  let drawn = false;
  const report = ((event) => {
    const ratio = event.total === 0 ? 1 : Math.min(1, event.done / event.total);
    const percent = `${String(Math.round(ratio * 100)).padStart(3)}%`;
    const dataSet = event.dataSet.padEnd(24).slice(0, 24);
    if (io.progress !== undefined) {
      const filled = Math.round(ratio * 24);
      const amount = event.phase === 'copy' ? '' : `  ${humanBytes(event.done)}/${humanBytes(event.total)}`;
      // The checks (integrity, row counts, audit trail) have no measure of their own: named, not a bar at 0 %.
      const line = event.phase === 'check' ? `${'check'.padEnd(8)} ${dataSet} checking integrity, row counts and audit trail…` : `${event.phase.padEnd(8)} ${dataSet} [${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ${percent}${amount}`;
      io.progress(line, false);
      drawn = true;
    } else if (event.phase !== 'check' && performance.now() - lastPlain > 10_000) {
      lastPlain = performance.now();
      io.stderr(`${event.phase} ${event.dataSet}: ${event.phase === 'copy' ? `${percent.trim()} of its tables` : `${humanBytes(event.done)} of ${humanBytes(event.total)} (${percent.trim()})`}`);
    }
  }) as Progress & { end(): void };
  report.end = () => {
    if (drawn) io.progress?.('', false);
    drawn = false;
  };
  return report;
}

/** Who ran the command, for the audit trail: the operating-system account on this host (the CLI on the host may do what a backup operator may). */
export const cliActor = (): Actor => ({ id: `cli:${userInfo().username}`, role: 'backup-operator', client: 'tresor-cli' });

/** A SQLite server running on this data directory (its pid file, and the process alive). */
export function runningServer(dataDir: string): number | undefined {
  const file = join(dataDir, 'server.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * `tresor backup …`: `generate-key` (in run-cli.ts), `run`, `list`, `verify [--snapshot S | --all]`,
 * `restore --snapshot S [--tenant T] [--to DIR]`, `prune`, `drill`.
 */
export function backupCommand(io: CliIo, core: Core, config: Config, sub: string | undefined, values: CliValues): Promise<number | void> {
  return reportingBackupErrors(io, () => backupSubcommand(io, core, config, sub, values));
}

/** Runs a backup command; a BackupError becomes its message on stderr and exit code 1. */
export async function reportingBackupErrors<T>(io: CliIo, run: () => Promise<T>): Promise<T | 1> {
  try {
    return await run();
  } catch (error) {
    // Backup failures say what failed and where (never a credential); the live data is untouched.
    if (error instanceof BackupError) {
      io.stderr(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/**
 * Whose backups a command works on: `--region R`'s (each region has its own repository), the
 * tenant's region's for a restore of one tenant in place, else the home region's.
 */
async function backupsFor(core: Core, sub: string | undefined, values: CliValues): Promise<{ backups: Backups; region: string }> {
  const named = typeof values['region'] === 'string' ? values['region'] : undefined;
  if (named !== undefined && !core.regionBackups.names.includes(named)) throw new UsageError(`no region ${named} (regions: ${core.regionBackups.names.join(', ')})`);
  if (named !== undefined && named !== homeRegion && typeof values['repository'] === 'string') {
    throw new UsageError(`--repository names the home region's repository; region ${named}'s is regions.${named}.backup.repository in the configuration`);
  }
  const tenant = typeof values['tenant'] === 'string' ? values['tenant'] : undefined;
  if (sub === 'restore' && tenant !== undefined && values['to'] === undefined) {
    const region = (await core.tenants.get(tenant))?.region;
    if (region === undefined) throw new Refusal(`no tenant ${tenant}`);
    // A tenant's snapshots are in its own region's repository: a restore never crosses regions.
    if (named !== undefined && named !== region) throw new Refusal(`tenant ${tenant} lives in region ${region}: restore it from that region's snapshots (--region ${region}, or leave --region out)`);
    return { backups: core.regionBackups.region(region), region };
  }
  const region = named ?? homeRegion;
  return { backups: core.regionBackups.region(region), region };
}

async function backupSubcommand(io: CliIo, core: Core, config: Config, sub: string | undefined, values: CliValues): Promise<number | void> {
  const { backups, region } = await backupsFor(core, sub, values);
  if (!backups.configured) {
    throw new UsageError(
      region === homeRegion ? 'no repository: pass --repository DIR|sftp://user@host:port/path, or set backup.repository (TRESOR_BACKUP_REPOSITORY)' : `region ${region} has no backup repository: set regions.${region}.backup.repository in the configuration`,
    );
  }
  const repositoryName = region === homeRegion ? config.backup.repository : core.residency.region(region).backup.repository;
  const dataDirOf = region === homeRegion ? config.dataDir : core.residency.region(region).dataDir;
  const actor = cliActor();
  const snapshotArg = typeof values['snapshot'] === 'string' ? values['snapshot'] : undefined;
  if (sub === 'run') {
    const progress = progressOf(io);
    const report = await backups.run({ progress, actor, reason: 'manual' });
    progress.end();
    if (report.keyFileCreated !== undefined) {
      io.stderr(
        [
          `WARNING: no backup key was configured, so this backup made one: ${report.keyFileCreated}`,
          'WARNING: copy that file off this machine now (a password manager or secret store, not the backup repository):',
          'WARNING: the backups cannot be read without it, and a key kept only on this disk is lost with it.',
          'WARNING: then set TRESOR_BACKUP_KEY (backup.key) or backup.keyFile to a path outside the data directory; production mode requires that.',
        ].join('\n'),
      );
    }
    const { manifest } = report;
    const bytes = manifest.dataSets.reduce((n, d) => n + d.bytes, 0);
    io.stdout(`snapshot ${manifest.id} of ${manifest.dataSets.length} data sets (${humanBytes(bytes)}): ${number.format(manifest.added.chunks)} new chunks, ${humanBytes(manifest.added.bytes)} stored; ${report.tombstones.total} tombstones (${report.tombstones.added} new)`);
    if (report.pruned !== undefined) io.stdout(`retention: kept ${report.retention?.keep.length ?? 0} snapshots, deleted ${report.pruned.snapshots} and ${number.format(report.pruned.packs)} packs no snapshot uses (${number.format(report.pruned.chunks)} chunks)`);
    else if (report.maintenanceSkipped !== undefined) io.stdout(`retention and prune skipped this time: ${report.maintenanceSkipped}`);
    io.stdout(manifest.id); // last line of stdout: the snapshot id
    return;
  }
  if (sub === 'list') {
    const summaries = await backups.list();
    const sizeOf = (m: (typeof summaries)[number]['manifest']) => m.dataSets.reduce((n, d) => n + d.bytes, 0);
    if (values['json'] === true) {
      // A summary for scripts: never the manifest itself (its chunk lists run to megabytes).
      const listed = summaries.map(({ manifest: m, verified }) => ({
        id: m.id,
        takenAt: new Date(m.takenAt).toISOString(),
        bytes: sizeOf(m),
        added: m.added,
        dataSets: m.dataSets.map((d) => ({ kind: d.kind, id: d.id, bytes: d.bytes })),
        verified: verified === undefined ? null : { at: new Date(verified.verifiedAt).toISOString(), seconds: verified.seconds },
        tresorVersion: m.tresorVersion,
      }));
      io.stdout(JSON.stringify(listed, null, 2));
      return;
    }
    if (summaries.length === 0) {
      io.stderr(`no snapshots in ${repositoryName ?? 'the repository'}`);
      return;
    }
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    const rows = summaries.map(({ manifest: m, verified }) => [
      m.id,
      utc(m.takenAt),
      String(m.dataSets.length),
      humanBytes(sizeOf(m)),
      humanBytes(m.added.bytes),
      verified === undefined ? 'no' : `${utc(verified.verifiedAt)} (${verified.seconds.toFixed(1)} s)`,
      m.tresorVersion,
    ]);
    for (const line of formatTable(['SNAPSHOT', 'TAKEN (UTC)', 'DATA SETS', 'SIZE', 'ADDED', 'VERIFIED', 'VERSION'], rows)) io.stdout(line);
    return;
  }
  if (sub === 'verify') {
    const targets = values['all'] === true ? (await backups.list()).map((s) => s.manifest.id) : [snapshotArg];
    if (values['all'] === true && targets.length === 0) throw new Refusal('no snapshots to verify');
    let failed = 0;
    for (const id of targets) {
      const progress = progressOf(io);
      try {
        const report = await backups.verify(id, { progress, actor });
        progress.end();
        io.stdout(`snapshot ${report.id}: verified — ${report.dataSets} data sets, ${humanBytes(report.bytes)} restored and checked in ${report.seconds.toFixed(1)} s`);
      } catch (error) {
        progress.end();
        if (!(error instanceof BackupError)) throw error;
        failed += 1;
        io.stdout(`snapshot ${id ?? '(newest)'}: FAILED — ${error.message}`);
      }
    }
    return failed > 0 ? 1 : 0;
  }
  if (sub === 'prune') {
    const { retention, pruned } = await backups.maintain(actor);
    io.stdout(`retention: kept ${retention.keep.length} snapshots, deleted ${pruned.snapshots} and ${number.format(pruned.packs)} packs no snapshot uses (${number.format(pruned.chunks)} chunks)`);
    return;
  }
  if (sub === 'drill') {
    const report = await backups.drill();
    io.stdout(`restore drill of ${report.snapshot ?? '-'}: restored and checked in ${report.restoreSeconds?.toFixed(1) ?? '-'} s; newest verified snapshot is ${report.rpoSeconds === undefined ? '-' : `${Math.round(report.rpoSeconds)} s`} old`);
    return;
  }
  if (sub === 'restore') {
    const id = snapshotArg ?? (() => { throw new UsageError('restore needs --snapshot <id> (tresor backup list shows them)'); })();
    const tenant = typeof values['tenant'] === 'string' ? values['tenant'] : undefined;
    const to = typeof values['to'] === 'string' ? resolve(values['to']) : undefined;
    const progress = progressOf(io);
    if (to !== undefined) {
      if (to === resolve(config.dataDir) || to === resolve(dataDirOf)) throw new Refusal('--to is a live data directory: restore into a new, empty directory (or one tenant in place: --tenant T without --to)');
      if (existsSync(to) && readdirSync(to).length > 0) throw new Refusal(`--to ${to} is not empty: restore into a new, empty directory`);
      const result = await backups.restoreTo(id, to, { ...(tenant === undefined ? {} : { tenant }), progress, actor });
      progress.end();
      io.stdout(`restored ${result.dataSets} data sets of snapshot ${id} (${new Date(result.manifest.takenAt).toISOString()}) into ${to}; ${result.keysDestroyed} key versions destroyed again by tombstones`);
      io.stdout('The master key is not in any backup (it would make backups readable): start on this directory with the same TRESOR_MASTER_KEY or key file.');
      return;
    }
    if (tenant === undefined) {
      if (core.storage.engine !== 'postgres') throw new UsageError('restore needs --tenant T (one tenant, into the running system) or --to DIR (every data set, into a new directory)');
      // PostgreSQL disaster recovery: the whole snapshot into this (empty) deployment.
      const result = await backups.restoreDeployment(id, { actor, progress });
      progress.end();
      io.stdout(`restored ${result.dataSets} data sets of snapshot ${id} (${new Date(result.manifest.takenAt).toISOString()}) into this deployment; ${result.keysDestroyed} key versions destroyed again by tombstones`);
      io.stdout('The master key is not in any backup: start the servers with the same TRESOR_MASTER_KEY or key file.');
      return;
    }
    // On SQLite a running server holds the tenant's file open: it must make the swap itself.
    const server = core.storage.engine === 'sqlite' ? runningServer(config.dataDir) : undefined;
    if (server !== undefined) {
      throw new Refusal(`a Tresor server (process ${server}) runs on ${config.dataDir}: restore through it (POST /platform/backups/${id}/restore as a backup operator), or stop it first`);
    }
    const result = await backups.restoreTenant(id, tenant, { actor, progress });
    progress.end();
    io.stdout(`tenant ${tenant} restored to snapshot ${id} (${new Date(result.manifest.takenAt).toISOString()}) in ${result.seconds.toFixed(1)} s; the state before is snapshot ${result.preRestoreSnapshot}; ${result.keysDestroyed} key versions destroyed again by tombstones`);
    return;
  }
  throw new UsageError(`unknown command: backup ${sub ?? ''}`);
}
