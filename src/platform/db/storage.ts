import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { StorageError, storageUnavailable } from './errors.js';
import { migrate } from './migrate.js';
import { createPostgresPool, openPostgresDatabase, type PostgresOptions } from './postgres.js';
import { quoteIdent } from './quote-ident.js';
import { openSqliteDatabase, type SqliteOptions } from './sqlite.js';
import type { Dialect, Migration, SqlDatabase } from './types.js';

/**
 * Where data sets live. SPEC D1: every tenant has its own data set — a file of its own on
 * SQLite, a schema of its own on PostgreSQL — plus one data set for the platform itself.
 * The storage knows nothing of what the tables mean; migrations are handed in.
 */
export interface Storage {
  readonly engine: Dialect;
  readonly platform: SqlDatabase;
  /** The key store: wrapped keys only, apart from every tenant's records (keys.db / <prefix>_keys). */
  readonly keys: SqlDatabase;
  /** Opens (and migrates) a tenant's data set; `create` makes it when it does not exist. */
  tenant(tenantId: string, options?: { create?: boolean }): Promise<SqlDatabase>;
  /** Where the tenant's data set is, for operators: a file path or a schema name. */
  describeTenant(tenantId: string): string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StorageConfig =
  | { readonly engine: 'sqlite'; readonly dataDir: string; readonly sqlite: SqliteOptions }
  | { readonly engine: 'postgres'; readonly postgres: PostgresOptions & { readonly schemaPrefix: string } };

export interface StorageMigrations {
  readonly platform: readonly Migration[];
  readonly keys: readonly Migration[];
  readonly tenant: readonly Migration[];
}

const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

function assertTenantId(tenantId: string): void {
  // Tenant ids become file and schema names; callers validate them first, this is the backstop.
  if (!tenantIdPattern.test(tenantId)) throw new TypeError(`invalid tenant id ${JSON.stringify(tenantId)}`);
}

/**
 * Opens each tenant's data set once per process and hands every caller the same handle; a
 * failed open is forgotten so the next request tries again.
 */
function memoisedOpener(openOne: (tenantId: string, create: boolean) => Promise<SqlDatabase>) {
  const open = new Map<string, Promise<SqlDatabase>>();
  return {
    tenant(tenantId: string, options: { create?: boolean } = {}): Promise<SqlDatabase> {
      assertTenantId(tenantId);
      let db = open.get(tenantId);
      if (db === undefined) {
        db = openOne(tenantId, options.create === true);
        db.catch(() => open.delete(tenantId));
        open.set(tenantId, db);
      }
      return db;
    },
    async closeAll(): Promise<void> {
      for (const handle of await Promise.allSettled(open.values())) if (handle.status === 'fulfilled') await handle.value.close();
    },
  };
}

const missing = (tenantId: string) => new StorageError('dataset-missing', `no data set for tenant ${tenantId}`, { status: 404 });

export async function openStorage(config: StorageConfig, migrations: StorageMigrations, now: () => number = Date.now): Promise<Storage> {
  return config.engine === 'sqlite' ? openSqliteStorage(config, migrations, now) : openPostgresStorage(config, migrations, now);
}

async function openSqliteStorage(config: Extract<StorageConfig, { engine: 'sqlite' }>, migrations: StorageMigrations, now: () => number): Promise<Storage> {
  const tenantsDir = join(config.dataDir, 'tenants');
  mkdirSync(tenantsDir, { recursive: true, mode: 0o700 });
  const platform = openSqliteDatabase(join(config.dataDir, 'platform.db'), config.sqlite);
  await migrate(platform, migrations.platform, 'platform', now);
  // The key store zeroes what it frees, so a destroyed key does not linger in free pages.
  const keys = openSqliteDatabase(join(config.dataDir, 'keys.db'), { ...config.sqlite, secureDelete: true });
  await migrate(keys, migrations.keys, 'keys', now);
  const fileOf = (tenantId: string) => join(tenantsDir, `${tenantId}.db`);
  const tenants = memoisedOpener(async (tenantId, create) => {
    const file = fileOf(tenantId);
    if (!create && !existsSync(file)) throw missing(tenantId);
    const handle = openSqliteDatabase(file, config.sqlite);
    await migrate(handle, migrations.tenant, `tenant ${tenantId}`, now);
    return handle;
  });

  return {
    engine: 'sqlite',
    platform,
    keys,
    describeTenant: fileOf,
    tenant: tenants.tenant,
    async ping() {
      await platform.query('SELECT 1 AS ok');
    },
    async close() {
      await tenants.closeAll();
      await keys.close();
      await platform.close();
    },
  };
}

async function openPostgresStorage(config: Extract<StorageConfig, { engine: 'postgres' }>, migrations: StorageMigrations, now: () => number): Promise<Storage> {
  const { schemaPrefix } = config.postgres;
  const pool: pg.Pool = createPostgresPool(config.postgres);
  const platformSchema = `${schemaPrefix}_platform`;
  const schemaOf = (tenantId: string) => `${schemaPrefix}_t_${tenantId}`;
  const ensureSchema = async (schema: string) => {
    try {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    } catch (error) {
      // Two nodes creating the same schema at once race in the catalog; the loser retries the check.
      if ((error as { code?: string }).code !== '23505') throw storageUnavailable(error);
    }
  };
  await ensureSchema(platformSchema);
  const platform = openPostgresDatabase(pool, platformSchema);
  await migrate(platform, migrations.platform, platformSchema, now);
  const keysSchema = `${schemaPrefix}_keys`;
  await ensureSchema(keysSchema);
  const keys = openPostgresDatabase(pool, keysSchema);
  await migrate(keys, migrations.keys, keysSchema, now);
  const tenants = memoisedOpener(async (tenantId, create) => {
    const schema = schemaOf(tenantId);
    if (create) {
      await ensureSchema(schema);
    } else {
      const found = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]).catch((error: unknown) => {
        throw storageUnavailable(error);
      });
      if (found.rowCount === 0) throw missing(tenantId);
    }
    const handle = openPostgresDatabase(pool, schema);
    await migrate(handle, migrations.tenant, schema, now);
    return handle;
  });

  return {
    engine: 'postgres',
    platform,
    keys,
    describeTenant: schemaOf,
    tenant: tenants.tenant,
    async ping() {
      await platform.query('SELECT 1 AS ok');
    },
    async close() {
      await pool.end();
    },
  };
}
