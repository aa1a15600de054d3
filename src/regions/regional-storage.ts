import type { RegionStorage, SqlDatabase, Storage } from '../platform/db/index.js';
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
      return (await of(tenantId)).tenant(tenantId, options);
    },
    visitTenant: async (tenantId, fn) => (await of(tenantId)).visitTenant(tenantId, fn),
    requestUses: (tenantId) => storageOf(placement.regionOf(tenantId)).requestUses(tenantId),
    migrateTenant: async (tenantId) => (await of(tenantId)).migrateTenant(tenantId),
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
