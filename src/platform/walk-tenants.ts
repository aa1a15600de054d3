import type { Storage } from './db/index.js';

export interface TenantWalk {
  readonly stopped: () => boolean;
  readonly pause: (ms: number) => Promise<void>;
  /** How long the walk should take at least: visits are spaced evenly over it (at most a second apart). */
  readonly spreadMs: number;
}

const longestPauseMs = 1000;

/**
 * A background job's round over tenants: one tenant at a time, each through
 * `storage.visitTenant` (held open for the visit, closed again after it if the visit opened it),
 * spaced out so a round over thousands of tenants is not a burst of opens right after start.
 * A tenant whose visit fails is skipped; the next round tries it again.
 */
export async function walkTenants(storage: Pick<Storage, 'visitTenant'>, tenantIds: readonly string[], visit: (tenantId: string) => Promise<void>, { stopped, pause, spreadMs }: TenantWalk): Promise<{ failed: number }> {
  const gap = tenantIds.length === 0 ? 0 : Math.min(longestPauseMs, spreadMs / tenantIds.length);
  let failed = 0;
  for (const tenantId of tenantIds) {
    if (stopped()) break;
    await storage.visitTenant(tenantId, () => visit(tenantId)).catch(() => (failed += 1));
    await pause(gap);
  }
  return { failed };
}
