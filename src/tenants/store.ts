import type { SqlExecutor } from '../platform/db/index.js';

export interface TenantRow {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'disabled';
  readonly created_at: number;
  readonly disabled_at: number | null;
  readonly mfa_policy: MfaPolicy;
}

export type MfaPolicy = 'everyone' | 'staff' | 'optional';

export async function insertTenant(db: SqlExecutor, row: { id: string; name: string; createdAt: number }): Promise<boolean> {
  const changed = await db.execute(`INSERT INTO ${db.table('tenants')} (id, name, status, created_at) VALUES (?, ?, 'active', ?) ON CONFLICT (id) DO NOTHING`, [
    row.id,
    row.name,
    row.createdAt,
  ]);
  return changed === 1;
}

export async function selectTenant(db: SqlExecutor, id: string): Promise<TenantRow | undefined> {
  const rows = await db.query<TenantRow>(`SELECT id, name, status, created_at, disabled_at, mfa_policy FROM ${db.table('tenants')} WHERE id = ?`, [id]);
  return rows[0];
}

export async function selectTenants(db: SqlExecutor): Promise<TenantRow[]> {
  return db.query<TenantRow>(`SELECT id, name, status, created_at, disabled_at, mfa_policy FROM ${db.table('tenants')} ORDER BY id`);
}

export async function updateTenantDisabled(db: SqlExecutor, id: string, at: number): Promise<boolean> {
  const changed = await db.execute(`UPDATE ${db.table('tenants')} SET status = 'disabled', disabled_at = ? WHERE id = ? AND status = 'active'`, [at, id]);
  return changed === 1;
}

export async function updateMfaPolicy(db: SqlExecutor, id: string, policy: MfaPolicy): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('tenants')} SET mfa_policy = ? WHERE id = ?`, [policy, id])) === 1;
}
