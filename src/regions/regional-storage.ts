import { StorageError, type RegionStorage, type SqlDatabase, type Storage } from '../platform/db/index.js';
import type { Placement } from './placement.js';

/** A storage over several regions, and each region's own (the move command copies between them). */
export interface RegionalStorage extends Storage {
  /** The storage of one region: its key store and its tenants' data sets. */
  region(name: string): RegionStorage;
  /** Every region's name, the home region first. */
  readonly regions: readonly string[];
}

/**
 * `Storage` over one storage per region: each tenant's data set is opened in its region (its data
 * directory on SQLite, its database on PostgreSQL). The platform data set — tenant ids and names,
 * API key hashes, operators' accounts — and the home key store are the home region's. Only used
 * when regions are configured: a deployment of one region opens its storage directly, so its
 * request path is the same as before regions.
 */
export function createRegionalStorage(home: Storage, others: ReadonlyMap<string, RegionStorage>, homeName: string, placement: Placement): RegionalStorage {
  const byRegion = new Map<string, RegionStorage>([[homeName, home], ...others]);
  const all = [...byRegion.values()];
  const storageOf = (region: string): RegionStorage => {
    const found = byRegion.get(region);
    if (found === undefined) throw new TypeError(`no storage for region ${region}`);
    return found;
  };
  const of = async (tenantId: string) => storageOf(await placement.resolve(tenantId));
  // A data set missing where this process last saw it: another process may have moved the tenant
  // (regions/move-tenant.ts). The region is read again from the platform data set and, when it
  // changed, the call tried once more there.
  const isMissing = (error: unknown) => error instanceof StorageError && error.code === 'dataset-missing';
  async function again<T>(tenantId: string, fn: (storage: RegionStorage) => Promise<T>): Promise<T> {
    try {
      return await fn(await of(tenantId));
    } catch (error) {
      if (!isMissing(error) || !(await placement.refresh(tenantId))) throw error;
      return fn(await of(tenantId));
    }
  }
  return {
    engine: home.engine,
    platform: home.platform,
    keys: home.keys,
    ...(home.postgres === undefined ? {} : { postgres: home.postgres }),
    regions: [...byRegion.keys()],
    region: storageOf,
    async tenant(tenantId, options = {}): Promise<SqlDatabase> {
      if (options.create === true && options.region !== undefined) {
        storageOf(options.region);
        placement.assign(tenantId, options.region);
        return storageOf(options.region).tenant(tenantId, options);
      }
      return again(tenantId, (storage) => storage.tenant(tenantId, options));
    },
    visitTenant: (tenantId, fn) => again(tenantId, (storage) => storage.visitTenant(tenantId, fn)),
    requestUses: (tenantId) => storageOf(placement.regionOf(tenantId)).requestUses(tenantId),
    requestsInFlight: (tenantId) => storageOf(placement.regionOf(tenantId)).requestsInFlight(tenantId),
    migrateTenant: (tenantId) => again(tenantId, (storage) => storage.migrateTenant(tenantId)),
    onTenantClosed(listener) {
      for (const storage of all) storage.onTenantClosed(listener);
    },
    openTenants: () => all.reduce((sum, storage) => sum + storage.openTenants(), 0),
    describeTenant: (tenantId) => storageOf(placement.regionOf(tenantId)).describeTenant(tenantId),
    replaceTenant: async (tenantId, install) => (await of(tenantId)).replaceTenant(tenantId, install),
    onReplace(hold) {
      for (const storage of all) storage.onReplace(hold);
    },
    async ping() {
      for (const storage of all) await storage.ping();
    },
    async close() {
      for (const storage of all.slice(1)) await storage.close();
      await home.close();
    },
  };
}
