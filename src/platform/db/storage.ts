import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { createCheckpointer, type Checkpointer } from './checkpointer.js';
import { StorageError, storageUnavailable } from './errors.js';
import { migrate } from './migrate.js';
import { createPostgresPool, openPostgresDatabase, type PostgresOptions } from './postgres.js';
import { leasedDatabase } from './leased-database.js';
import { createOpenSet } from './open-set.js';
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
  /**
   * A tenant's data set (opened and migrated when needed; `create` makes it when it does not
   * exist). The handle leases the data set for each call only: holding it keeps nothing open,
   * and the least recently used data sets close when more than `tenants.maxOpen` are open.
   * `region` says where a data set being created goes (a storage over several regions,
   * src/regions); a storage of one region ignores it.
   */
  tenant(tenantId: string, options?: { create?: boolean; region?: string }): Promise<SqlDatabase>;
  /**
   * For background jobs walking tenants: `fn` runs with the data set held open; if it was not
   * open before, it closes again afterwards, so a walk neither keeps every tenant open nor
   * pushes the tenants in use out of the open set.
   */
  visitTenant<T>(tenantId: string, fn: (db: SqlDatabase) => Promise<T>): Promise<T>;
  /**
   * A request for the tenant has begun (the HTTP layer calls this for every tenant path); call
   * the returned function when it has ended. Meanwhile the tenant counts as in use by a request:
   * a background visit that opened its data set leaves it open, so the tenant in use is not
   * closed under its own traffic by a job that happened to visit it at the same moment.
   */
  requestUses(tenantId: string): () => void;
  /** Requests for the tenant begun (`requestUses`) and not yet ended: what a move of the tenant waits for. */
  requestsInFlight(tenantId: string): number;
  /**
   * Brings the tenant's data set up to date with this version's migrations, as a visit does (held
   * open for it, closed again after if it was not open), and says how many it applied: 0 when the
   * data set was up to date, or open already (an open data set was migrated when it opened).
   */
  migrateTenant(tenantId: string): Promise<number>;
  /** Runs `listener` after a tenant's data set closed, so caches keyed by tenant (keys, per-tenant servers) drop it too. */
  onTenantClosed(listener: (tenantId: string) => void): void;
  /** Tenant data sets open now (for /metrics and the bench). */
  openTenants(): number;
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
   * SQLite: `hold` is awaited before a tenant's file is swapped (replaceTenant), after this
   * storage's own handle closed — so that another thread with connections of its own to the file
   * (the detection worker) closes them first; the function it resolves with is called once the
   * new file is in place (or the swap failed). PostgreSQL swaps a schema by renaming it, which
   * every connection follows by name: nothing to hold there.
   */
  onReplace(hold: (tenantId: string) => Promise<() => void>): void;
  /**
   * PostgreSQL only: the shared pool, the schema prefix, and the migrations every data set gets —
   * for schema-level work such as snapshots, which read and rebuild whole schemas (backup/pg-dataset.ts).
   */
  readonly postgres?: { readonly pool: pg.Pool; readonly schemaPrefix: string; readonly migrations: StorageMigrations };
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StorageConfig = (
  | { readonly engine: 'sqlite'; readonly dataDir: string; readonly sqlite: SqliteOptions }
  | { readonly engine: 'postgres'; readonly postgres: PostgresOptions & { readonly schemaPrefix: string } }
) & { readonly tenants?: TenantSetOptions };

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

export interface TenantSetOptions {
  /** Most tenant data sets open at once (least recently used closes first). */
  readonly maxOpen: number;
  /** How long an open waits for a slot when every open data set is in use, before a 503. */
  readonly waitMs: number;
}

export const tenantSetDefaults: TenantSetOptions = { maxOpen: 500, waitMs: 5000 };

/**
 * The tenants' data sets behind stable handles (leased-database.ts) over one bounded open set
 * (open-set.ts). A failed open is forgotten, so the next call tries again. A handle's calls
 * made while the data set is replaced (`replace`) wait for it and then reach the new one.
 */
function tenantSet(openOne: (tenantId: string, create: boolean) => Promise<{ db: SqlDatabase; migrated: number }>, shape: (tenantId: string) => Pick<SqlDatabase, 'dialect' | 'table'>, options: TenantSetOptions) {
  const listeners: Array<(tenantId: string) => void> = [];
  // Bumped at each open, so that data_version never repeats across two openings of one file.
  let opened = 0;
  const generations = new Map<string, number>();
  // Migrations applied by the latest open of each tenant, until migrateTenant() reads them.
  const migratedAtOpen = new Map<string, number>();
  const set = createOpenSet<SqlDatabase>({
    maxOpen: options.maxOpen,
    waitMs: options.waitMs,
    async open(tenantId, create) {
      const { db, migrated } = await openOne(tenantId, create);
      generations.set(tenantId, ++opened);
      if (migrated > 0) migratedAtOpen.set(tenantId, migrated);
      return db;
    },
    close: (_tenantId, handle) => handle.close(),
    onClosed(tenantId) {
      generations.delete(tenantId);
      migratedAtOpen.delete(tenantId);
      for (const listener of listeners) listener(tenantId);
    },
  });
  const generation = (tenantId: string) => generations.get(tenantId) ?? 0;
  // Tenants a background visit holds now. Their `tenant()` calls count as the visit's own (its
  // opens close again when it ends) — told apart by tenant, not by async context: an
  // AsyncLocalStorage would switch on Node's promise hooks for every request of the process. A
  // request that reaches the same tenant during its visit only costs a reopen afterwards.
  const visiting = new Map<string, number>();
  // Requests in flight per tenant (requestUses): a tenant in this map is in use by a request, whoever calls.
  const requests = new Map<string, number>();
  return {
    set,
    requestsInFlight: (tenantId: string): number => requests.get(tenantId) ?? 0,
    requestUses(tenantId: string): () => void {
      requests.set(tenantId, (requests.get(tenantId) ?? 0) + 1);
      set.keep(tenantId);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const left = (requests.get(tenantId) ?? 1) - 1;
        if (left > 0) requests.set(tenantId, left);
        else requests.delete(tenantId);
      };
    },
    async tenant(tenantId: string, options: { create?: boolean } = {}): Promise<SqlDatabase> {
      assertTenantId(tenantId);
      const transient = visiting.has(tenantId) && !requests.has(tenantId);
      // Not open: open it now, so a missing data set fails here rather than at its first query.
      if (!set.isOpen(tenantId) || options.create === true) (await set.acquire(tenantId, { create: options.create === true, transient })).release();
      else if (!transient) set.keep(tenantId);
      return leasedDatabase(tenantId, set, shape(tenantId), () => generation(tenantId));
    },
    async visit<T>(tenantId: string, fn: (db: SqlDatabase) => Promise<T>): Promise<T> {
      assertTenantId(tenantId);
      const lease = await set.acquire(tenantId, { transient: true });
      visiting.set(tenantId, (visiting.get(tenantId) ?? 0) + 1);
      try {
        // The visit's own calls (storage.tenant() deep inside a job) must not make it look in use by a request.
        return await fn(leasedDatabase(tenantId, set, shape(tenantId), () => generation(tenantId)));
      } finally {
        const left = (visiting.get(tenantId) ?? 1) - 1;
        if (left > 0) visiting.set(tenantId, left);
        else visiting.delete(tenantId);
        // A request used the data set during the visit: it stays, as if the request had opened it.
        if (requests.has(tenantId)) set.keep(tenantId);
        lease.release();
      }
    },
    async migrate(tenantId: string): Promise<number> {
      assertTenantId(tenantId);
      const lease = await set.acquire(tenantId, { transient: true });
      try {
        const migrated = migratedAtOpen.get(tenantId) ?? 0;
        migratedAtOpen.delete(tenantId);
        return migrated;
      } finally {
        lease.release();
      }
    },
    replace(tenantId: string, install: () => Promise<void>): Promise<void> {
      assertTenantId(tenantId);
      return set.exclusive(tenantId, install);
    },
    onClosed(listener: (tenantId: string) => void) {
      listeners.push(listener);
    },
    closeAll: () => set.closeAll(),
  };
}

const missing = (tenantId: string) => new StorageError('dataset-missing', `no data set for tenant ${tenantId}`, { status: 404 });

export async function openStorage(config: StorageConfig, migrations: StorageMigrations, now: () => number = Date.now): Promise<Storage> {
  return config.engine === 'sqlite' ? openSqliteStorage(config, migrations, now) : openPostgresStorage(config, migrations, now);
}

/** A region's storage that is not the home region's: its key store and tenants' data sets, no platform data set. */
export type RegionStorage = Omit<Storage, 'platform'>;

/**
 * The data sets of a region other than the home one (src/regions): the same engine and layout as
 * `openStorage` — tenants' data sets and a key store of its own — but no platform data set, which
 * lives in the home region only.
 */
export async function openRegionStorage(config: StorageConfig, migrations: StorageMigrations, now: () => number = Date.now): Promise<RegionStorage> {
  const { platform: _none, ...rest } = config.engine === 'sqlite' ? await openSqliteStorage(config, migrations, now, false) : await openPostgresStorage(config, migrations, now, false);
  return rest;
}

/** Stands in for the platform data set where a storage has none: any use is a programming error. */
const noPlatform: SqlDatabase = new Proxy({} as SqlDatabase, {
  get(_target, name) {
    if (name === 'then') return undefined;
    throw new TypeError(`a region's storage has no platform data set (platform.${String(name)})`);
  },
});

/**
 * The SQLite platform data set alone, migrated as `openStorage` migrates it, for a command that
 * reads nothing else (`tresor tenant list`): no key store, tenant set or checkpointer thread.
 * Undefined where the deployment has no platform data set yet: `openStorage` creates one.
 */
export async function openSqlitePlatform(
  config: { readonly dataDir: string; readonly sqlite: SqliteOptions },
  migrations: readonly Migration[],
  now: () => number = Date.now,
): Promise<{ readonly platform: SqlDatabase; readonly describeTenant: (tenantId: string) => string } | undefined> {
  const file = join(config.dataDir, 'platform.db');
  if (!existsSync(file)) return undefined;
  const platform = openSqliteDatabase(file, config.sqlite);
  try {
    await migrate(platform, migrations, 'platform', now);
  } catch (error) {
    await platform.close().catch(() => undefined);
    throw error;
  }
  return { platform, describeTenant: (tenantId) => sqliteTenantFile(config.dataDir, tenantId) };
}

const sqliteTenantFile = (dataDir: string, tenantId: string) => join(dataDir, 'tenants', `${tenantId}.db`);

function sqliteTenants(config: Extract<StorageConfig, { engine: 'sqlite' }>, migrations: readonly Migration[], now: () => number, checkpointer: Checkpointer | undefined, readsWaitForFlush: boolean) {
  const fileOf = (tenantId: string) => sqliteTenantFile(config.dataDir, tenantId);
  const tenants = tenantSet(
    async (tenantId, create) => {
      const file = fileOf(tenantId);
      if (!create && !existsSync(file)) throw missing(tenantId);
      const handle = openSqliteDatabase(file, config.sqlite, { ...(checkpointer === undefined ? {} : { checkpointer }), readsWaitForFlush });
      try {
        return { db: handle, migrated: await migrate(handle, migrations, `tenant ${tenantId}`, now) };
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
    },
    () => ({ dialect: 'sqlite', table: (name) => name }),
    config.tenants ?? tenantSetDefaults,
  );
  return { tenants, fileOf };
}

async function openSqliteStorage(config: Extract<StorageConfig, { engine: 'sqlite' }>, migrations: StorageMigrations, now: () => number, withPlatform = true): Promise<Storage> {
  const tenantsDir = join(config.dataDir, 'tenants');
  mkdirSync(tenantsDir, { recursive: true, mode: 0o700 });
  // One worker thread checkpoints every data set's WAL, so that no checkpoint syncs on the loop.
  const checkpointer = createCheckpointer();
  const platform = withPlatform ? openSqliteDatabase(join(config.dataDir, 'platform.db'), config.sqlite, { checkpointer }) : undefined;
  if (platform !== undefined) await migrate(platform, migrations.platform, 'platform', now);
  // The key store zeroes what it frees, so a destroyed key does not linger in free pages.
  const keys = openSqliteDatabase(join(config.dataDir, 'keys.db'), { ...config.sqlite, secureDelete: true }, { checkpointer });
  await migrate(keys, migrations.keys, 'keys', now);
  // A tenant's reads may see a batch whose flush is in flight: every answer built on them waits
  // for its own audit event in this same file, and that flush covers all earlier frames. The
  // platform and the key store keep the default (their reads feed other data sets' writes).
  const { tenants, fileOf } = sqliteTenants(config, migrations.tenant, now, checkpointer, false);
  const holders: Array<(tenantId: string) => Promise<() => void>> = [];

  return {
    engine: 'sqlite',
    platform: platform ?? noPlatform,
    keys,
    describeTenant: fileOf,
    tenant: tenants.tenant,
    visitTenant: tenants.visit,
    requestUses: tenants.requestUses,
    requestsInFlight: tenants.requestsInFlight,
    migrateTenant: tenants.migrate,
    onTenantClosed: tenants.onClosed,
    openTenants: () => tenants.set.size(),
    replaceTenant: (tenantId, install) =>
      tenants.replace(tenantId, async () => {
        const resumes: Array<() => void> = [];
        try {
          for (const hold of holders) resumes.push(await hold(tenantId));
          await install(fileOf(tenantId));
        } finally {
          for (const resume of resumes) resume();
        }
      }),
    onReplace: (hold) => void holders.push(hold),
    async ping() {
      await (platform ?? keys).query('SELECT 1 AS ok');
    },
    async close() {
      await tenants.closeAll();
      await keys.close();
      await platform?.close();
      await checkpointer.close();
    },
  };
}

/**
 * Only the tenants' data sets — no platform data set, no key store — for a thread of its own that
 * reads and writes tables inside tenants' data sets (the detection worker: the trail, the rules'
 * state, the alerts). Its connections are its own: on SQLite a second writer per file, which WAL
 * serialises with the server's; on PostgreSQL a small pool of its own. Data sets are migrated on
 * open as the server's are (the same migrations), so either may open a tenant first.
 */
export interface TenantStorage extends Pick<Storage, 'engine' | 'tenant' | 'visitTenant' | 'replaceTenant' | 'openTenants' | 'describeTenant' | 'close'> {
  /**
   * PostgreSQL: one statement over many tenants' schemas at once, without opening each — `table`
   * names a tenant's table for it. (SQLite has a file per tenant: there is no such statement.)
   */
  readonly across?: { query: SqlDatabase['query']; table(tenantId: string, name: string): string };
}

export async function openTenantStorage(config: StorageConfig, migrations: readonly Migration[], now: () => number = Date.now): Promise<TenantStorage> {
  if (config.engine === 'sqlite') {
    // No checkpointer thread: this storage is a thread of its own already, where SQLite's own
    // automatic checkpoint after a commit stalls nobody. Its reads feed only its own writes.
    const { tenants, fileOf } = sqliteTenants(config, migrations, now, undefined, false);
    return {
      engine: 'sqlite',
      tenant: tenants.tenant,
      visitTenant: tenants.visit,
      openTenants: () => tenants.set.size(),
      describeTenant: fileOf,
      replaceTenant: (tenantId, install) => tenants.replace(tenantId, () => install(fileOf(tenantId))),
      close: () => tenants.closeAll(),
    };
  }
  const { schemaPrefix } = config.postgres;
  const pool: pg.Pool = createPostgresPool(config.postgres);
  const tenants = postgresTenants(pool, schemaPrefix, config, migrations, now);
  // Its statements name every table with its schema: the default schema it is opened on is never used.
  const anySchema = openPostgresDatabase(pool, `${schemaPrefix}_platform`, config.postgres);
  return {
    engine: 'postgres',
    across: {
      query: (sql, params) => anySchema.query(sql, params),
      table: (tenantId, name) => {
        assertTenantId(tenantId);
        return `${quoteIdent(`${schemaPrefix}_t_${tenantId}`)}.${quoteIdent(name)}`;
      },
    },
    tenant: tenants.tenant,
    visitTenant: tenants.visit,
    openTenants: () => tenants.set.size(),
    describeTenant: (tenantId) => `${schemaPrefix}_t_${tenantId}`,
    replaceTenant: (tenantId, install) => install(`${schemaPrefix}_t_${tenantId}`),
    async close() {
      await tenants.closeAll();
      await pool.end();
    },
  };
}

function postgresTenants(pool: pg.Pool, schemaPrefix: string, config: Extract<StorageConfig, { engine: 'postgres' }>, migrations: readonly Migration[], now: () => number) {
  const schemaOf = (tenantId: string) => `${schemaPrefix}_t_${tenantId}`;
  const tenants = tenantSet(
    async (tenantId, create) => {
      const schema = schemaOf(tenantId);
      if (!create) {
        // pg_namespace by its unique name index: information_schema.schemata checks privileges on every schema.
        const found = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]).catch((error: unknown) => {
          throw storageUnavailable(error);
        });
        if (found.rowCount === 0) throw missing(tenantId);
      }
      const handle = openPostgresDatabase(pool, schema, config.postgres);
      // A new tenant's schema is made inside the migration's transaction, under its lock: the
      // schema and its tables commit together (one durable commit), and two nodes creating the
      // same tenant at once wait for each other instead of racing in the catalog.
      const prelude = create ? { prelude: [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`] } : {};
      try {
        return { db: handle, migrated: await migrate(handle, migrations, schema, now, prelude) };
      } catch (error) {
        // The loser of two concurrent creators waited on the lock, but an advisory lock does not
        // refresh the catalog cache, so its IF NOT EXISTS missed the winner's schema (23505):
        // a second pass finds the schema migrated and up to date.
        if (!create || (error as { code?: string }).code !== '23505') throw error;
        return { db: handle, migrated: await migrate(handle, migrations, schema, now, prelude) };
      }
    },
    (tenantId) => {
      const schema = quoteIdent(schemaOf(tenantId));
      return { dialect: 'postgres', table: (name) => `${schema}.${quoteIdent(name)}` };
    },
    config.tenants ?? tenantSetDefaults,
  );
  return tenants;
}

async function openPostgresStorage(config: Extract<StorageConfig, { engine: 'postgres' }>, migrations: StorageMigrations, now: () => number, withPlatform = true): Promise<Storage> {
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
  let platform: SqlDatabase | undefined;
  if (withPlatform) {
    await ensureSchema(platformSchema);
    platform = openPostgresDatabase(pool, platformSchema, config.postgres);
    await migrate(platform, migrations.platform, platformSchema, now);
  }
  const keysSchema = `${schemaPrefix}_keys`;
  await ensureSchema(keysSchema);
  const keys = openPostgresDatabase(pool, keysSchema, config.postgres);
  await migrate(keys, migrations.keys, keysSchema, now);
  const tenants = postgresTenants(pool, schemaPrefix, config, migrations.tenant, now);

  return {
    engine: 'postgres',
    platform: platform ?? noPlatform,
    keys,
    postgres: { pool, schemaPrefix, migrations },
    describeTenant: schemaOf,
    tenant: tenants.tenant,
    visitTenant: tenants.visit,
    requestUses: tenants.requestUses,
    requestsInFlight: tenants.requestsInFlight,
    migrateTenant: tenants.migrate,
    onTenantClosed: tenants.onClosed,
    openTenants: () => tenants.set.size(),
    // A schema is swapped by renaming inside one transaction (install does it): handles address
    // tables by schema name, so they reach the new data set at once.
    replaceTenant: (tenantId, install) => install(schemaOf(tenantId)),
    onReplace: () => undefined,
    async ping() {
      await (platform ?? keys).query('SELECT 1 AS ok');
    },
    async close() {
      await tenants.closeAll();
      await pool.end();
    },
  };
}
