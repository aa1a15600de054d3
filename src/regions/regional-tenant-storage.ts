import { existsSync } from 'node:fs';
import { openTenantStorage, StorageError, type Migration, type SqlDatabase, type StorageConfig, type TenantStorage } from '../platform/db/index.js';

const isMissing = (error: unknown) => error instanceof StorageError && error.code === 'dataset-missing';

/**
 * The tenants' data sets of every region, for a thread that has no platform data set to ask where
 * a tenant lives (the detection worker): a tenant is looked for in each region, the home region
 * first, and found where its data set exists (SQLite: its file; PostgreSQL: its schema). A data
 * set gone from where it was found (the tenant moved) is looked for again.
 */
export async function openRegionalTenantStorage(configs: readonly StorageConfig[], migrations: readonly Migration[], now: () => number): Promise<TenantStorage> {
  const storages: TenantStorage[] = [];
  try {
    for (const config of configs) storages.push(await openTenantStorage(config, migrations, now));
  } catch (error) {
    for (const opened of storages) await opened.close().catch(() => undefined);
    throw error;
  }
  const home = storages[0];
  if (home === undefined) throw new TypeError('no region to open');
  const found = new Map<string, TenantStorage>();
  // SQLite: where the tenant's file is, without opening anything.
  const byFile = (tenantId: string): TenantStorage | undefined => storages.find((s) => existsSync(s.describeTenant(tenantId)));
  async function locate(tenantId: string): Promise<TenantStorage> {
    const known = found.get(tenantId);
    if (known !== undefined) return known;
    if (home?.engine === 'sqlite') {
      const where = byFile(tenantId) ?? home;
      found.set(tenantId, where);
      return where;
    }
    for (const storage of storages) {
      try {
        await storage.tenant(tenantId);
        found.set(tenantId, storage);
        return storage;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return home as TenantStorage;
  }
  async function again<T>(tenantId: string, fn: (storage: TenantStorage) => Promise<T>): Promise<T> {
    try {
      return await fn(await locate(tenantId));
    } catch (error) {
      if (!isMissing(error) || !found.has(tenantId)) throw error;
      found.delete(tenantId);
      return fn(await locate(tenantId));
    }
  }
  return {
    engine: home.engine,
    tenant: (tenantId, options): Promise<SqlDatabase> => (options?.create === true ? home.tenant(tenantId, options) : again(tenantId, (s) => s.tenant(tenantId, options))),
    visitTenant: (tenantId, fn) => again(tenantId, (s) => s.visitTenant(tenantId, fn)),
    replaceTenant: (tenantId, install) => again(tenantId, (s) => s.replaceTenant(tenantId, install)),
    openTenants: () => storages.reduce((sum, s) => sum + s.openTenants(), 0),
    describeTenant: (tenantId) => (found.get(tenantId) ?? (home.engine === 'sqlite' ? byFile(tenantId) : undefined) ?? home).describeTenant(tenantId),
    async close() {
      for (const storage of storages) await storage.close();
    },
  };
}
