import type { Config } from '../config/index.js';
import { createLocalKeyProvider, masterKeySource } from '../keys/index.js';
import { openSqlitePlatform, sqliteDefaults } from '../platform/db/index.js';
import { platformMigrations } from '../platform-migrations.js';
import { listTenants, type Tenant } from '../tenants/index.js';
import type { CliIo } from './io.js';

/** `tresor tenant list`'s output, whichever way the tenants were read. */
export function printTenants(io: CliIo, tenants: readonly Tenant[], json: boolean): void {
  if (json) io.stdout(JSON.stringify(tenants, null, 2));
  else for (const t of tenants) io.stdout(`${t.id}\t${t.status}\t${t.createdAt}\t${t.name}`);
}

/**
 * `tresor tenant list` on SQLite from the platform data set alone, without composing the services
 * (which loads every module and opens the key store): the list holds no sealed field and no
 * audited record, so it needs neither data keys nor audit. False where this deployment has no platform
 * data set yet, or is on PostgreSQL: the caller takes the full path, which creates what is missing.
 */
export async function listTenantsAlone(io: CliIo, config: Config, json: boolean): Promise<boolean> {
  // With regions, where a data set is depends on its region: the full path knows them.
  if (config.storage.engine !== 'sqlite' || Object.keys(config.regions ?? {}).some((name) => name !== 'default')) return false;
  // The list needs no key, but the master key ring is checked as for every other command: one
  // that is malformed, or readable by others, refuses the command (and development makes one).
  createLocalKeyProvider(masterKeySource(config.keys, config.dataDir));
  const opened = await openSqlitePlatform({ dataDir: config.dataDir, sqlite: { ...sqliteDefaults, ...config.storage.sqlite } }, platformMigrations);
  if (opened === undefined) return false;
  try {
    printTenants(io, await listTenants(opened.platform, opened.describeTenant), json);
  } finally {
    await opened.platform.close();
  }
  return true;
}
