import { homeRegion } from '../config/index.js';

/**
 * Which region holds each tenant. The platform data set's `tenants.region` is the truth; this is
 * its copy in memory, so that a synchronous question (where is this tenant's file?) has an
 * answer. A tenant this process has not seen (made by another node or process since the start)
 * is read from the platform data set on first use by `resolve`.
 */
export interface Placement {
  /** The tenant's region as last known; the home region for a tenant not known (the operators' realm, a tenant of before regions). */
  regionOf(tenantId: string): string;
  /** The tenant's region, read from the platform data set when this process has not seen it yet. */
  resolve(tenantId: string): Promise<string>;
  /** A tenant is being created in, or moved to, `region`. */
  assign(tenantId: string, region: string): void;
  /**
   * The tenant's region read again from the platform data set (another process moved it): true
   * when it differs from what this process knew, which is then forgotten for the new one.
   */
  refresh(tenantId: string): Promise<boolean>;
}

export function createPlacement(initial: ReadonlyArray<{ id: string; region: string }>, lookup: (tenantId: string) => Promise<string | undefined>): Placement {
  const known = new Map(initial.map((row) => [row.id, row.region]));
  return {
    regionOf: (tenantId) => known.get(tenantId) ?? homeRegion,
    async resolve(tenantId) {
      const seen = known.get(tenantId);
      if (seen !== undefined) return seen;
      const region = await lookup(tenantId);
      if (region === undefined) return homeRegion;
      known.set(tenantId, region);
      return region;
    },
    assign(tenantId, region) {
      known.set(tenantId, region);
    },
    async refresh(tenantId) {
      const region = (await lookup(tenantId)) ?? homeRegion;
      const changed = region !== (known.get(tenantId) ?? homeRegion);
      known.set(tenantId, region);
      return changed;
    },
  };
}
