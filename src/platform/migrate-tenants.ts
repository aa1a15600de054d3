import type { Storage } from './db/index.js';

export interface TenantMigrationProgress {
  readonly total: number;
  readonly done: number;
  /** Tenants that had pending migrations and got them now. */
  readonly migrated: number;
  /** Migrations applied, summed over those tenants. */
  readonly applied: number;
  readonly failed: ReadonlyArray<{ readonly tenantId: string; readonly reason: string }>;
  readonly elapsedMs: number;
}

/**
 * An upgrade's walk over every tenant: each data set brought up to date in turn through the open
 * set (storage.migrateTenant: opened for it and closed after, so thousands of tenants never stay
 * open together). A tenant that fails is listed and the walk goes on; migrations are idempotent
 * by id, so running it again continues where it failed or was stopped.
 */
export async function migrateTenants(
  storage: Storage,
  tenantIds: readonly string[],
  { onProgress = () => {} }: { onProgress?: (progress: TenantMigrationProgress) => void } = {},
): Promise<TenantMigrationProgress> {
  const started = performance.now();
  const failed: Array<{ tenantId: string; reason: string }> = [];
  let done = 0;
  let migrated = 0;
  let applied = 0;
  const snapshot = (): TenantMigrationProgress => ({ total: tenantIds.length, done, migrated, applied, failed: [...failed], elapsedMs: performance.now() - started });
  for (const tenantId of tenantIds) {
    try {
      const count = await storage.migrateTenant(tenantId);
      if (count > 0) migrated += 1;
      applied += count;
    } catch (error) {
      failed.push({ tenantId, reason: reasonOf(error) });
    }
    done += 1;
    onProgress(snapshot());
  }
  return snapshot();
}

/**
 * The error's code and message line only: a driver's `detail` (PostgreSQL's "Key (x)=(…)")
 * can quote stored values and is never shown.
 */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  const firstLine = error.message.split('\n')[0] ?? '';
  return typeof code === 'string' ? `${code}: ${firstLine}` : firstLine;
}
