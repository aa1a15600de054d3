import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import { migrateTenants, type TenantMigrationProgress } from '../platform/migrate-tenants.js';
import type { CliIo, CliValues } from './io.js';
import { runningServer } from './backup-commands.js';
import { Refusal, UsageError } from './usage-error.js';

const number = new Intl.NumberFormat('en-US');
// A rate and an ETA from the first few tenants are noise.
const meaningfulRateAfter = 20;

/**
 * Before anything is opened: on SQLite a running server holds the tenants' files and writes
 * them through its own flush path, so the upgrade waits for it to stop (the server itself
 * migrates each tenant when it first opens it). PostgreSQL serialises each schema's migration
 * on an advisory lock, so the command runs beside servers of the same version.
 */
export function refuseMigrateWhileServing(config: Config): void {
  if (config.storage.engine !== 'sqlite') return;
  const pid = runningServer(config.dataDir);
  if (pid !== undefined) throw new Refusal(`a server (pid ${pid}) runs on ${config.dataDir}; stop it, then run tresor migrate (or let the server migrate each tenant when it first opens it)`);
}

function progressLine(p: TenantMigrationProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = p.done >= meaningfulRateAfter && seconds > 0 ? p.done / seconds : undefined;
  const percent = p.total === 0 ? 100 : Math.floor((p.done / p.total) * 100);
  const pace = rate === undefined ? '' : `, ${number.format(Math.round(rate))}/s, about ${formatSeconds((p.total - p.done) / rate)} left`;
  return `migrate: ${number.format(p.done)}/${number.format(p.total)} tenants (${percent} %)${pace}; ${number.format(p.migrated)} migrated, ${number.format(p.failed.length)} failed`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * `tresor migrate [--tenant <id>] [--json]`: the platform data sets were brought up to date when
 * the command opened them (buildCore); then every tenant (or one), one at a time, with progress
 * on stderr. Exit 1 when any tenant failed, each named.
 */
export async function migrateCommand(io: CliIo, core: Core, values: CliValues): Promise<number> {
  const tenant = values['tenant'];
  if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) throw new UsageError('missing --tenant <id>');
  const known = (await core.tenants.list()).map((t) => t.id);
  if (typeof tenant === 'string' && !known.includes(tenant)) throw new UsageError(`no tenant ${tenant}`);
  const ids = typeof tenant === 'string' ? [tenant] : known;
  let lastLine = 0;
  const draw = (p: TenantMigrationProgress, final: boolean) => {
    const line = progressLine(p);
    if (io.progress !== undefined) io.progress(line, final);
    else if (final || p.elapsedMs - lastLine >= 2000) {
      lastLine = p.elapsedMs;
      io.stderr(line);
    }
  };
  const result = await migrateTenants(core.storage, ids, { onProgress: (p) => draw(p, false) });
  draw(result, true);
  const seconds = result.elapsedMs / 1000;
  if (values['json'] === true) {
    io.stdout(JSON.stringify({ engine: core.storage.engine, tenants: result.total, migrated: result.migrated, applied: result.applied, upToDate: result.done - result.migrated - result.failed.length, failed: result.failed, seconds: Number(seconds.toFixed(3)) }, null, 2));
  } else {
    io.stdout(`Platform, key store and operators: up to date.`);
    io.stdout(
      `Tenants: ${number.format(result.total)}; ${number.format(result.migrated)} migrated (${number.format(result.applied)} migrations), ${number.format(result.done - result.migrated - result.failed.length)} already up to date, ${number.format(result.failed.length)} failed, in ${seconds.toFixed(1)} s.`,
    );
    for (const { tenantId, reason } of result.failed) io.stderr(`tenant ${tenantId}: not migrated: ${reason}`);
    if (result.failed.length > 0) io.stderr('Run tresor migrate again once the cause is fixed: it continues with what is still pending.');
  }
  return result.failed.length > 0 ? 1 : 0;
}
