import { BackupError } from './errors.js';
import type { BackupStatus, Backups } from './service.js';

/**
 * Each region's backups (src/regions; docs/residency.md "Backups"): the home region's repository
 * takes the platform data set, the home key store and the home region's tenants; every other
 * region's repository takes that region's key store and tenants, and nothing else — so no
 * region's data, nor its tombstones, ever lands in another region's repository. A deployment
 * without regions has one, the home region's.
 */
export interface RegionBackups {
  /** The home region's backups (the platform data set is in them). */
  readonly home: Backups;
  /** Every region's name, the home region first. */
  readonly names: readonly string[];
  /** More than one region: what is shown and measured names the region. */
  readonly regional: boolean;
  /** How a region is shown to people (its configured label; the name when it has none). */
  labelOf(name: string): string;
  /** One region's backups; an unknown name is a 404 BackupError. */
  region(name: string): Backups;
  /** The backups of the region the tenant lives in now. */
  forTenant(tenantId: string): Promise<Backups>;
  /** The regions whose backups have a repository, with their names, the home region first. */
  configured(): ReadonlyArray<readonly [string, Backups]>;
  /**
   * The deployment's backups as a whole, for the platform probe and the status page: the worst of
   * the configured regions (the oldest newest snapshot, a failed drill before a passed one), so
   * one region whose backups stopped is not hidden by the others.
   */
  worstStatus(): Promise<BackupStatus>;
}

export function createRegionBackups(byRegion: ReadonlyMap<string, Backups>, home: string, regionOf: (tenantId: string) => Promise<string>, labels: ReadonlyMap<string, string> = new Map()): RegionBackups {
  const homeBackups = byRegion.get(home);
  if (homeBackups === undefined) throw new TypeError(`no backups for the home region ${home}`);
  const names = [...byRegion.keys()];
  const region = (name: string): Backups => {
    const found = byRegion.get(name);
    if (found === undefined) throw new BackupError('region-unknown', `no region ${JSON.stringify(name)} (regions: ${names.join(', ')})`, { status: 404, expose: true });
    return found;
  };
  const configured = () => [...byRegion.entries()].filter(([, backups]) => backups.configured);
  return {
    home: homeBackups,
    names,
    regional: names.length > 1,
    labelOf: (name) => labels.get(name) ?? name,
    region,
    forTenant: async (tenantId) => region(await regionOf(tenantId)),
    configured,
    async worstStatus() {
      const statuses = await Promise.all(configured().map(([, backups]) => backups.sharedStatus()));
      return worstOf(statuses);
    },
  };
}

/** The oldest of times, undefined when any is (a region never backed up is the worst there is). */
const oldest = (values: ReadonlyArray<number | undefined>): number | undefined => (values.some((v) => v === undefined) ? undefined : Math.min(...(values as number[])));

function worstOf(statuses: readonly BackupStatus[]): BackupStatus {
  const first = statuses[0];
  if (first === undefined) return { configured: false, lastSnapshotAt: undefined, newestVerifiedTakenAt: undefined, lastFailureAt: undefined, lastDrill: undefined, failures: {}, unreadable: {} };
  if (statuses.length === 1) return first;
  const drills = statuses.map((s) => s.lastDrill);
  const failed = drills.find((d) => d !== undefined && !d.ok);
  const lastDrill = failed ?? (drills.some((d) => d === undefined) ? undefined : drills.reduce((a, b) => (a !== undefined && b !== undefined && Date.parse(b.at) < Date.parse(a.at) ? b : a)));
  const sum = (pick: (s: BackupStatus) => Readonly<Record<string, number>>) => {
    const out: Record<string, number> = {};
    for (const s of statuses) for (const [operation, count] of Object.entries(pick(s))) out[operation] = (out[operation] ?? 0) + count;
    return out;
  };
  const failures = statuses.map((s) => s.lastFailureAt).filter((v): v is number => v !== undefined);
  return {
    configured: true,
    lastSnapshotAt: oldest(statuses.map((s) => s.lastSnapshotAt)),
    newestVerifiedTakenAt: oldest(statuses.map((s) => s.newestVerifiedTakenAt)),
    lastFailureAt: failures.length === 0 ? undefined : Math.max(...failures),
    lastDrill,
    failures: sum((s) => s.failures),
    unreadable: sum((s) => s.unreadable),
  };
}
