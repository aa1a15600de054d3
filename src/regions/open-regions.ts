import { mkdirSync } from 'node:fs';
import { homeRegion, regionPathsOf, type Config, type RegionPaths } from '../config/index.js';
import { createKeys, createLocalKeyProvider, masterKeySource, type KeyProvider, type Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import { openRegionStorage, openStorage, type RegionStorage, type Storage, type StorageConfig, type StorageMigrations } from '../platform/db/index.js';
import { tenantRegion, tenantRegions } from '../tenants/index.js';
import { createPlacement, type Placement } from './placement.js';
import { createRegionalKeys } from './regional-keys.js';
import { createRegionalStorage, type RegionalStorage } from './regional-storage.js';

/**
 * Where each tenant's data lives, for the services that write files of their own (audit
 * checkpoints, exports, drill reports): the tenant's region's directories.
 */
export interface Residency {
  /** Every region, the home region (`default`) first. */
  readonly regions: readonly RegionPaths[];
  /** Where new tenants go when none is named. */
  readonly defaultRegion: string;
  /** More than one region is configured (else everything is as without regions). */
  readonly regional: boolean;
  region(name: string): RegionPaths;
  /** The tenant's region (as this process knows it; the home region for the operators' realm). */
  regionOf(tenantId: string): string;
  /** The tenant's region's data directory: where files Tresor writes about this tenant belong (e.g. `<dir>/exports/<tenant>/`). */
  regionDataDir(tenantId: string): string;
  /** The tenant's region's audit checkpoint directory. */
  checkpointDirOf(tenantId: string): string;
  /** The tenant-to-region map behind `regionOf` (moves and creations update it). */
  readonly placement: Placement | undefined;
  /** Each region's master key provider (a move unwraps with one and wraps with another). */
  readonly providers: ReadonlyMap<string, KeyProvider>;
}

export interface OpenedRegions {
  readonly storage: Storage;
  readonly keys: Keys;
  /** The home region's master key provider (`tresor keys rotate --master` rotates it). */
  readonly provider: KeyProvider;
  /** Each region's master key provider. */
  readonly providers: ReadonlyMap<string, KeyProvider>;
  /**
   * Each region's storage and keys alone (its key store, its tenants' data sets), the home region
   * first: what a region's backups take and restore (backup/region-backups.ts).
   */
  readonly byRegion: ReadonlyMap<string, { readonly storage: RegionStorage; readonly keys: Keys }>;
  readonly residency: Residency;
}

export interface OpenRegionsDeps {
  readonly config: Config;
  /** The home region's storage settings (the configuration's), which other regions' derive from. */
  readonly storageConfig: StorageConfig;
  readonly migrations: StorageMigrations;
  readonly clock: Clock;
  /** A provider for the home region other than the local key ring (a KMS). */
  readonly homeProvider?: KeyProvider;
}

/** A region's storage settings: the deployment's, with the region's data directory or database. */
export function regionStorageConfig(base: StorageConfig, region: RegionPaths): StorageConfig {
  if (base.engine === 'sqlite') return { ...base, dataDir: region.dataDir };
  if (region.postgres === undefined) throw new TypeError(`region ${region.name} has no database`);
  return { ...base, postgres: { ...base.postgres, url: region.postgres.url, schemaPrefix: region.postgres.schemaPrefix } };
}

export function residencyOf(config: Config, placement: Placement | undefined, providers: ReadonlyMap<string, KeyProvider> = new Map()): Residency {
  const regions = regionPathsOf(config);
  const byName = new Map(regions.map((r) => [r.name, r]));
  const region = (name: string): RegionPaths => {
    const found = byName.get(name);
    if (found === undefined) throw new TypeError(`no region ${name}`);
    return found;
  };
  const regionOf = (tenantId: string) => placement?.regionOf(tenantId) ?? homeRegion;
  return {
    regions,
    defaultRegion: config.defaultRegion,
    regional: regions.length > 1,
    region,
    regionOf,
    regionDataDir: (tenantId) => region(regionOf(tenantId)).dataDir,
    checkpointDirOf: (tenantId) => region(regionOf(tenantId)).auditCheckpointDir,
    placement,
    providers,
  };
}

/**
 * Opens every region's storage and key store. With one region (no `regions` configured) this is
 * exactly the storage and keys of before regions; with several, a router over them
 * (regional-storage.ts, regional-keys.ts). Master keys are read first, so a missing or unsafe one
 * refuses the start before any data set is opened.
 */
export async function openRegions({ config, storageConfig, migrations, clock, homeProvider }: OpenRegionsDeps): Promise<OpenedRegions> {
  const regions = regionPathsOf(config);
  const providers = new Map<string, KeyProvider>();
  for (const region of regions) {
    if (region.name === homeRegion && homeProvider !== undefined) providers.set(region.name, homeProvider);
    else {
      if (region.name !== homeRegion) mkdirSync(region.dataDir, { recursive: true, mode: 0o700 });
      providers.set(region.name, createLocalKeyProvider(masterKeySource(region.keys, region.dataDir)));
    }
  }
  const provider = providers.get(homeRegion) as KeyProvider;
  const now = () => clock.now().getTime();
  const home = await openStorage(storageConfig, migrations, now);
  if (regions.length === 1) {
    const keys = createKeys({ db: home.keys, provider, clock });
    return { storage: home, keys, provider, providers, byRegion: new Map([[homeRegion, { storage: home, keys }]]), residency: residencyOf(config, undefined, providers) };
  }
  const others = new Map<string, RegionStorage>();
  try {
    for (const region of regions.slice(1)) others.set(region.name, await openRegionStorage(regionStorageConfig(storageConfig, region), migrations, now));
  } catch (error) {
    for (const opened of others.values()) await opened.close().catch(() => undefined);
    await home.close().catch(() => undefined);
    throw error;
  }
  const placement = createPlacement(await tenantRegions(home.platform), (tenantId) => tenantRegion(home.platform, tenantId));
  const storage: RegionalStorage = createRegionalStorage(home, others, homeRegion, placement);
  const keysByRegion = new Map<string, Keys>(regions.map((region) => [region.name, createKeys({ db: storage.region(region.name).keys, provider: providers.get(region.name) as KeyProvider, clock })]));
  const byRegion = new Map(regions.map((region) => [region.name, { storage: storage.region(region.name), keys: keysByRegion.get(region.name) as Keys }]));
  return { storage, keys: createRegionalKeys(keysByRegion, homeRegion, placement), provider, providers, byRegion, residency: residencyOf(config, placement, providers) };
}
