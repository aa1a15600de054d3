import type { SqlExecutor } from '../platform/db/index.js';

export interface TenantRow {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'disabled';
  readonly created_at: number;
  readonly disabled_at: number | null;
  readonly mfa_policy: MfaPolicy;
  readonly region: string;
  /** A move to another region began then (ms), or null. */
  readonly moving_since: number | null;
}

export type MfaPolicy = 'everyone' | 'staff' | 'optional';

export async function insertTenant(db: SqlExecutor, row: { id: string; name: string; createdAt: number; region: string }): Promise<boolean> {
  const changed = await db.execute(`INSERT INTO ${db.table('tenants')} (id, name, status, created_at, region) VALUES (?, ?, 'active', ?, ?) ON CONFLICT (id) DO NOTHING`, [
    row.id,
    row.name,
    row.createdAt,
    row.region,
  ]);
  return changed === 1;
}

export async function selectTenant(db: SqlExecutor, id: string): Promise<TenantRow | undefined> {
  const rows = await db.query<TenantRow>(`SELECT id, name, status, created_at, disabled_at, mfa_policy, region, moving_since FROM ${db.table('tenants')} WHERE id = ?`, [id]);
  return rows[0];
}

export async function selectTenants(db: SqlExecutor): Promise<TenantRow[]> {
  return db.query<TenantRow>(`SELECT id, name, status, created_at, disabled_at, mfa_policy, region, moving_since FROM ${db.table('tenants')} ORDER BY id`);
}

export async function updateTenantDisabled(db: SqlExecutor, id: string, at: number): Promise<boolean> {
  const changed = await db.execute(`UPDATE ${db.table('tenants')} SET status = 'disabled', disabled_at = ? WHERE id = ? AND status = 'active'`, [at, id]);
  return changed === 1;
}

export async function updateMfaPolicy(db: SqlExecutor, id: string, policy: MfaPolicy): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('tenants')} SET mfa_policy = ? WHERE id = ?`, [policy, id])) === 1;
}

/** Every tenant's region (the storage router's placement, read once at start). */
export async function selectRegions(db: SqlExecutor): Promise<Array<{ id: string; region: string }>> {
  return db.query<{ id: string; region: string }>(`SELECT id, region FROM ${db.table('tenants')}`);
}

/** Moves the tenant to another region: the row that decides where its data set is read from. */
export async function updateTenantRegion(db: SqlExecutor, id: string, from: string, to: string): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('tenants')} SET region = ? WHERE id = ? AND region = ?`, [to, id, from])) === 1;
}

/** Marks the tenant as being moved (false when another move holds it already, or no such tenant). */
export async function updateTenantMoving(db: SqlExecutor, id: string, since: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('tenants')} SET moving_since = ? WHERE id = ? AND moving_since IS NULL`, [since, id])) === 1;
}

/** Ends the mark of a move (done or rolled back). */
export async function clearTenantMoving(db: SqlExecutor, id: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('tenants')} SET moving_since = NULL WHERE id = ?`, [id]);
}
