import type { SqlExecutor } from '../platform/db/index.js';

export interface ApiKeyRow {
  readonly id: string;
  readonly tenant_id: string;
  readonly role: string;
  readonly label: string;
  readonly secret_hash: Uint8Array;
  readonly created_at: number;
  readonly revoked_at: number | null;
}

export async function insertApiKey(
  db: SqlExecutor,
  row: { id: string; tenantId: string; role: string; label: string; secretHash: Uint8Array; createdAt: number },
): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('api_keys')} (id, tenant_id, role, label, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`, [
    row.id,
    row.tenantId,
    row.role,
    row.label,
    row.secretHash,
    row.createdAt,
  ]);
}

export async function selectApiKey(db: SqlExecutor, id: string): Promise<ApiKeyRow | undefined> {
  const rows = await db.query<ApiKeyRow>(`SELECT id, tenant_id, role, label, secret_hash, created_at, revoked_at FROM ${db.table('api_keys')} WHERE id = ?`, [id]);
  return rows[0];
}

export async function selectApiKeys(db: SqlExecutor, tenantId: string): Promise<ApiKeyRow[]> {
  return db.query<ApiKeyRow>(
    `SELECT id, tenant_id, role, label, secret_hash, created_at, revoked_at FROM ${db.table('api_keys')} WHERE tenant_id = ? ORDER BY created_at, id`,
    [tenantId],
  );
}

export async function updateApiKeyRevoked(db: SqlExecutor, id: string, at: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('api_keys')} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, [at, id])) === 1;
}
