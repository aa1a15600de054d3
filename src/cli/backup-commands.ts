import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import type { Core } from '../app.js';
import { BackupError, listSnapshotIds, loadBackupKey, openRepository, readManifest, restoreFiles, takeSnapshot, verifySnapshot, type BackupKeys, type DataSetRef, type Progress, type Repository } from '../backup/index.js';
import { operatorRealm } from '../identity/index.js';
import { version } from '../version.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

const number = new Intl.NumberFormat('en-US');
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

type Values = Record<string, string | boolean | string[] | undefined>;

/** A progress bar for long work: redrawn in place on a terminal, every 5 s to stderr otherwise. */
function progressOf(io: CliIo): Progress & { end(): void } {
  let last = 0;
  let line = '';
  const draw = (final: boolean) => {
    if (line === '') return;
    if (io.progress !== undefined) io.progress(line, final);
    else if (final || performance.now() - last > 5000) {
      last = performance.now();
      io.stderr(line);
    }
  };
  const report = ((event) => {
    const ratio = event.total === 0 ? 1 : Math.min(1, event.done / event.total);
    const filled = Math.round(ratio * 24);
    const amount = event.phase === 'copy' || event.phase === 'check' ? '' : `  ${mib(event.done)}/${mib(event.total)}`;
    line = `${event.phase.padEnd(8)} ${event.dataSet.padEnd(24).slice(0, 24)} [${'#'.repeat(filled)}${'-'.repeat(24 - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%${amount}`;
    draw(false);
  }) as Progress & { end(): void };
  report.end = () => draw(true);
  return report;
}

/** The repository: `--repository`, else `backup.repository`; credentials stay out of every message. */
async function repositoryOf(config: Config, values: Values): Promise<Repository> {
  const location = typeof values['repository'] === 'string' ? values['repository'] : config.backup.repository;
  if (location === undefined) throw new UsageError('no repository: pass --repository DIR|sftp://user@host:port/path, or set backup.repository (TRESOR_BACKUP_REPOSITORY)');
  const { privateKeyFile, hostKeySha256 } = config.backup.sftp;
  return openRepository(location, privateKeyFile !== undefined && hostKeySha256 !== undefined ? { sftp: { privateKeyFile, hostKeySha256 } } : {});
}

function keysOf(config: Config, create: boolean): BackupKeys {
  return loadBackupKey(config.backup.key !== undefined ? { env: config.backup.key } : { file: config.backup.keyFile ?? join(config.dataDir, 'backup-key.json') }, { create });
}

/** Every data set of this deployment (SQLite): platform, key store, each tenant's, the operators'. */
async function dataSetsOf(core: Core, config: Config): Promise<DataSetRef[]> {
  if (core.storage.engine !== 'sqlite') {
    throw new UsageError('snapshots of PostgreSQL data sets are not built yet (issue #7 is in progress); back PostgreSQL up with its own tools (pg_dump, pgBackRest) meanwhile');
  }
  const tenants = [...(await core.tenants.list()).map((t) => t.id), operatorRealm];
  return [
    { kind: 'platform', id: 'platform', file: join(config.dataDir, 'platform.db') },
    { kind: 'keys', id: 'keys', file: join(config.dataDir, 'keys.db') },
    ...tenants.map((id) => ({ kind: 'tenant' as const, id, file: core.storage.describeTenant(id) })),
  ];
}

/**
 * `tresor backup …`: `generate-key`, `run`, `list`, `verify [--snapshot S | --all]`,
 * `restore --snapshot S [--tenant T] --to DIR`.
 */
export async function backupCommand(io: CliIo, core: Core, config: Config, sub: string | undefined, values: Values): Promise<number | void> {
  try {
    return await backupSubcommand(io, core, config, sub, values);
  } catch (error) {
    // Backup failures say what failed and where (never a credential); the live data is untouched.
    if (error instanceof BackupError) {
      io.stderr(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

async function backupSubcommand(io: CliIo, core: Core, config: Config, sub: string | undefined, values: Values): Promise<number | void> {
  if (sub === 'run') {
    const repository = await repositoryOf(config, values);
    try {
      const progress = progressOf(io);
      const manifest = await takeSnapshot({ repository, keys: keysOf(config, true), tresorVersion: version, chunkBytes: config.backup.chunkKiB * 1024, progress, scratchParent: config.dataDir }, await dataSetsOf(core, config), Date.now());
      progress.end();
      const bytes = manifest.dataSets.reduce((n, d) => n + d.bytes, 0);
      io.stdout(`snapshot ${manifest.id} of ${manifest.dataSets.length} data sets (${mib(bytes)}) in ${repository.display}: ${number.format(manifest.added.chunks)} new chunks, ${mib(manifest.added.bytes)} stored`);
      io.stdout(manifest.id); // last line of stdout: the snapshot id
    } finally {
      await repository.close();
    }
    return;
  }
  const repository = await repositoryOf(config, values);
  try {
    const keys = keysOf(config, false);
    const ids = await listSnapshotIds(repository);
    const snapshotArg = typeof values['snapshot'] === 'string' ? values['snapshot'] : undefined;
    if (sub === 'list') {
      for (const id of ids) {
        const m = await readManifest(repository, keys, id);
        const bytes = m.dataSets.reduce((n, d) => n + d.bytes, 0);
        io.stdout(`${m.id}\t${new Date(m.takenAt).toISOString()}\t${m.dataSets.length} data sets\t${mib(bytes)}\tadded ${mib(m.added.bytes)}\tTresor ${m.tresorVersion}`);
      }
      if (ids.length === 0) io.stderr(`no snapshots in ${repository.display}`);
      return;
    }
    if (sub === 'verify') {
      const targets = values['all'] === true ? ids : [snapshotArg ?? ids.at(-1)];
      if (targets.length === 0 || targets[0] === undefined) throw new UsageError(`no snapshots in ${repository.display} to verify`);
      let failed = 0;
      for (const id of targets as string[]) {
        const progress = progressOf(io);
        try {
          const report = await verifySnapshot({ repository, keys, progress, scratchParent: config.dataDir }, id);
          progress.end();
          io.stdout(`snapshot ${id}: verified — ${report.dataSets} data sets, ${mib(report.bytes)} restored and checked in ${report.seconds.toFixed(1)} s`);
        } catch (error) {
          progress.end();
          failed += 1;
          io.stdout(`snapshot ${id}: FAILED — ${(error as Error).message}`);
        }
      }
      return failed > 0 ? 1 : 0;
    }
    if (sub === 'restore') {
      const id = snapshotArg ?? (() => { throw new UsageError('restore needs --snapshot <id> (tresor backup list shows them)'); })();
      const to = typeof values['to'] === 'string' ? resolve(values['to']) : undefined;
      // In place (an atomic swap into the running system) comes with the rest of issue #7.
      if (to === undefined) throw new UsageError('restore needs --to DIR (a new, empty directory; restoring into the running system is not built yet)');
      if (to === resolve(config.dataDir)) throw new UsageError('--to is the live data directory: restore into a new, empty directory');
      if (existsSync(to) && readdirSync(to).length > 0) throw new UsageError(`--to ${to} is not empty: restore into a new, empty directory`);
      const tenant = typeof values['tenant'] === 'string' ? values['tenant'] : undefined;
      const manifest = await readManifest(repository, keys, id);
      if (tenant !== undefined && !manifest.dataSets.some((d) => d.kind === 'tenant' && d.id === tenant)) throw new UsageError(`snapshot ${id} has no tenant ${tenant}`);
      const progress = progressOf(io);
      const restored = await restoreFiles({ repository, keys, progress }, manifest, to, (d) => tenant === undefined || (d.kind === 'tenant' && d.id === tenant));
      progress.end();
      io.stdout(`restored ${restored.length} data sets of snapshot ${id} (${new Date(manifest.takenAt).toISOString()}) into ${to}`);
      io.stdout('The master key is not in any backup (it would make backups readable): start on this directory with the same TRESOR_MASTER_KEY or key file.');
      return;
    }
  } finally {
    await repository.close();
  }
  throw new UsageError(`unknown command: backup ${sub ?? ''}`);
}
