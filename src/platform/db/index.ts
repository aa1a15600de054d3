/**
 * @module platform/db
 * Storage engines behind one small contract: SQLite (embedded default, one file per tenant)
 * and PostgreSQL (one schema per tenant). Opens data sets (a bounded, least-recently-used set of
 * tenants' at a time), applies versioned migrations, group-commits SQLite writes, maps transient
 * engine failures to 503. Knows no domain tables.
 */
export type { Dialect, Migration, Row, SqlDatabase, SqlExecutor, SqlValue } from './types.js';
export { openStorage, openRegionStorage, openSqlitePlatform, openTenantStorage, tenantSetDefaults, type Storage, type RegionStorage, type TenantStorage, type TenantSetOptions, type StorageConfig, type StorageMigrations } from './storage.js';
export { sqliteDefaults, type SqliteOptions } from './sqlite.js';
export type { PostgresOptions } from './postgres.js';
export { StorageError, storageUnavailable, type StorageErrorCode } from './errors.js';
export { quoteIdent } from './quote-ident.js';
export { createLookupCache, type LookupCache, type LookupCacheOptions } from './lookup-cache.js';
