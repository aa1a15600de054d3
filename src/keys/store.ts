import type { SqlExecutor } from '../platform/db/index.js';

export interface TenantKeyRow {
  readonly version: number;
  readonly wrapped: Uint8Array;
  readonly master_version: number;
}

export interface DataKeyRow {
  readonly key_id: string;
  readonly subject: string;
  readonly version: number;
  readonly wrapped: Uint8Array | null;
  readonly kek_version: number;
}

export async function selectTenantKey(db: SqlExecutor, tenantId: string, purpose: 'kek' | 'index', version?: number): Promise<TenantKeyRow | undefined> {
  const table = db.table('tenant_keys');
  const rows =
    version === undefined
      ? await db.query<TenantKeyRow>(`SELECT version, wrapped, master_version FROM ${table} WHERE tenant_id = ? AND purpose = ? ORDER BY version DESC LIMIT 1`, [tenantId, purpose])
      : await db.query<TenantKeyRow>(`SELECT version, wrapped, master_version FROM ${table} WHERE tenant_id = ? AND purpose = ? AND version = ?`, [tenantId, purpose, version]);
  return rows[0];
}

/** False when another process inserted the same version first. */
export async function insertTenantKey(db: SqlExecutor, row: { tenantId: string; purpose: 'kek' | 'index'; version: number; wrapped: Uint8Array; masterVersion: number; createdAt: number }): Promise<boolean> {
  const changed = await db.execute(
    `INSERT INTO ${db.table('tenant_keys')} (tenant_id, purpose, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [row.tenantId, row.purpose, row.version, row.wrapped, row.masterVersion, row.createdAt],
  );
  return changed === 1;
}

const dataKeyColumns = 'key_id, subject, version, wrapped, kek_version';

export async function selectCurrentDataKey(db: SqlExecutor, tenantId: string, subject: string): Promise<DataKeyRow | undefined> {
  const rows = await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND subject = ? ORDER BY version DESC LIMIT 1`, [tenantId, subject]);
  return rows[0];
}

export async function selectDataKey(db: SqlExecutor, tenantId: string, keyId: string, version: number): Promise<DataKeyRow | undefined> {
  const rows = await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND key_id = ? AND version = ?`, [tenantId, keyId, version]);
  return rows[0];
}

export async function insertDataKey(db: SqlExecutor, row: { tenantId: string; keyId: string; subject: string; version: number; wrapped: Uint8Array; kekVersion: number; createdAt: number }): Promise<boolean> {
  const changed = await db.execute(
    `INSERT INTO ${db.table('data_keys')} (tenant_id, key_id, subject, version, wrapped, kek_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [row.tenantId, row.keyId, row.subject, row.version, row.wrapped, row.kekVersion, row.createdAt],
  );
  return changed === 1;
}

/** Destroys every version of a subject's key: the wrapped bytes are overwritten with NULL. */
export async function shredDataKeys(db: SqlExecutor, tenantId: string, subject: string, at: number): Promise<number> {
  return db.execute(`UPDATE ${db.table('data_keys')} SET wrapped = NULL, shredded_at = ? WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL`, [at, tenantId, subject]);
}
