import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { createCheckpointer } from './checkpointer.js';
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
  /**
   * Swaps the tenant's data set for another (a restore into the running system): requests
   * arriving meanwhile wait, the open handle is closed once its queued writes are done, `install`
   * puts the new data set in place (`target`: the file, or the schema name), and every caller —
   * those holding the old handle too — goes on against the new one. Other tenants are untouched.
   */
  replaceTenant(tenantId: string, install: (target: string) => Promise<void>): Promise<void>;
  /**
   * PostgreSQL only: the shared pool, the schema prefix, and the migrations every data set gets —
   * for schema-level work such as snapshots, which read and rebuild whole schemas (backup/pg-dataset.ts).
   */
  readonly postgres?: { readonly pool: pg.Pool; readonly schemaPrefix: string; readonly migrations: StorageMigrations };
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
 * failed open is forgotten so the next request tries again. With `swappable` (SQLite, where a
 * handle is bound to a file) the handle can be swapped under its holders (`replace`).
 */
function memoisedOpener(openOne: (tenantId: string, create: boolean) => Promise<SqlDatabase>, swappable: boolean) {
  const open = new Map<string, Promise<SqlDatabase>>();
  const swaps = new Map<string, SwappableDatabase>();
  return {
    tenant(tenantId: string, options: { create?: boolean } = {}): Promise<SqlDatabase> {
      assertTenantId(tenantId);
      let db = open.get(tenantId);
      if (db === undefined) {
        db = openOne(tenantId, options.create === true).then((handle) => {
          if (!swappable) return handle;
          const wrapped = swappableDatabase(handle);
          swaps.set(tenantId, wrapped);
          return wrapped;
        });
        db.catch(() => open.delete(tenantId));
        open.set(tenantId, db);
      }
      return db;
    },
    async replace(tenantId: string, install: () => Promise<void>): Promise<void> {
      assertTenantId(tenantId);
      const current = await open.get(tenantId)?.catch(() => undefined);
      const wrapped = swaps.get(tenantId);
      if (current === undefined || wrapped === undefined) {
        // Not open in this process: nothing holds the old data set.
        await install();
        return;
      }
      await wrapped.swap(install, () => openOne(tenantId, false));
    },
    async closeAll(): Promise<void> {
      for (const handle of await Promise.allSettled(open.values())) if (handle.status === 'fulfilled') await handle.value.close();
    },
  };
}

interface SwappableDatabase extends SqlDatabase {
  /**
   * Holds new calls, closes the current handle (its queued writes finish first), runs `install`,
   * and opens the data set again — also when `install` failed, so the tenant stays served.
   */
  swap(install: () => Promise<void>, reopen: () => Promise<SqlDatabase>): Promise<void>;
}

/**
 * A handle whose underlying database can be exchanged: calls made while a swap runs wait for it
 * and then go to the new database. Outside a swap a call costs one extra function call.
 */
function swappableDatabase(initial: SqlDatabase): SwappableDatabase {
  let current = initial;
  let swapping: Promise<void> | undefined;
  // Bumped at each swap so that data_version never repeats across two files.
  let generation = 0;
  const ready = async () => {
    while (swapping !== undefined) await swapping;
  };
  return {
    get dialect() {
      return current.dialect;
    },
    table: (name) => current.table(name),
    query: (sql, params) => (swapping === undefined ? current.query(sql, params) : ready().then(() => current.query(sql, params))),
    execute: (sql, params) => (swapping === undefined ? current.execute(sql, params) : ready().then(() => current.execute(sql, params))),
    transaction: (fn) => (swapping === undefined ? current.transaction(fn) : ready().then(() => current.transaction(fn))),
    afterCommit: (fn) => current.afterCommit(fn),
    dataVersion: () => {
      const version = current.dataVersion();
      return version === undefined ? undefined : generation * 2 ** 32 + version;
    },
    scrub: () => ready().then(() => current.scrub()),
    close: () => ready().then(() => current.close()),
    async swap(install, reopen) {
      await ready();
      let done!: () => void;
      swapping = new Promise<void>((resolve) => (done = resolve));
      try {
        await current.close();
        try {
          await install();
        } finally {
          current = await reopen();
          generation += 1;
        }
      } finally {
        swapping = undefined;
        done();
      }
    },
  } as SwappableDatabase;
}

const missing = (tenantId: string) => new StorageError('dataset-missing', `no data set for tenant ${tenantId}`, { status: 404 });

export async function openStorage(config: StorageConfig, migrations: StorageMigrations, now: () => number = Date.now): Promise<Storage> {
  return config.engine === 'sqlite' ? openSqliteStorage(config, migrations, now) : openPostgresStorage(config, migrations, now);
}

async function openSqliteStorage(config: Extract<StorageConfig, { engine: 'sqlite' }>, migrations: StorageMigrations, now: () => number): Promise<Storage> {
  const tenantsDir = join(config.dataDir, 'tenants');
  mkdirSync(tenantsDir, { recursive: true, mode: 0o700 });
  // One worker thread checkpoints every data set's WAL, so that no checkpoint syncs on the loop.
  const checkpointer = createCheckpointer();
  const platform = openSqliteDatabase(join(config.dataDir, 'platform.db'), config.sqlite, { checkpointer });
  await migrate(platform, migrations.platform, 'platform', now);
  // The key store zeroes what it frees, so a destroyed key does not linger in free pages.
  const keys = openSqliteDatabase(join(config.dataDir, 'keys.db'), { ...config.sqlite, secureDelete: true }, { checkpointer });
  await migrate(keys, migrations.keys, 'keys', now);
  const fileOf = (tenantId: string) => join(tenantsDir, `${tenantId}.db`);
  const tenants = memoisedOpener(async (tenantId, create) => {
    const file = fileOf(tenantId);
    if (!create && !existsSync(file)) throw missing(tenantId);
    // A tenant's reads may see a batch whose flush is in flight: every answer built on them waits
    // for its own audit event in this same file, and that flush covers all earlier frames. The
    // platform and the key store keep the default (their reads feed other data sets' writes).
    const handle = openSqliteDatabase(file, config.sqlite, { checkpointer, readsWaitForFlush: false });
    await migrate(handle, migrations.tenant, `tenant ${tenantId}`, now);
    return handle;
  }, true);

  return {
    engine: 'sqlite',
    platform,
    keys,
    describeTenant: fileOf,
    tenant: tenants.tenant,
    replaceTenant: (tenantId, install) => tenants.replace(tenantId, () => install(fileOf(tenantId))),
    async ping() {
      await platform.query('SELECT 1 AS ok');
    },
    async close() {
      await tenants.closeAll();
      await keys.close();
      await platform.close();
      await checkpointer.close();
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
  const platform = openPostgresDatabase(pool, platformSchema, config.postgres);
  await migrate(platform, migrations.platform, platformSchema, now);
  const keysSchema = `${schemaPrefix}_keys`;
  await ensureSchema(keysSchema);
  const keys = openPostgresDatabase(pool, keysSchema, config.postgres);
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
    const handle = openPostgresDatabase(pool, schema, config.postgres);
    await migrate(handle, migrations.tenant, schema, now);
    return handle;
  }, false);

  return {
    engine: 'postgres',
    platform,
    keys,
    postgres: { pool, schemaPrefix, migrations },
    describeTenant: schemaOf,
    tenant: tenants.tenant,
    // A schema is swapped by renaming inside one transaction (install does it): handles address
    // tables by schema name, so they reach the new data set at once.
    replaceTenant: (tenantId, install) => install(schemaOf(tenantId)),
    async ping() {
      await platform.query('SELECT 1 AS ok');
    },
    async close() {
      await pool.end();
    },
  };
}
