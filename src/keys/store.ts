import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';

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

/** The newest version of a subject's key. */
export async function selectCurrentDataKey(db: SqlExecutor, tenantId: string, subject: string): Promise<DataKeyRow | undefined> {
  const rows = await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND subject = ? ORDER BY version DESC LIMIT 1`, [tenantId, subject]);
  return rows[0];
}

export async function selectDataKey(db: SqlExecutor, tenantId: string, keyId: string, version: number): Promise<DataKeyRow | undefined> {
  const rows = await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND key_id = ? AND version = ?`, [tenantId, keyId, version]);
  return rows[0];
}

/** Every version of the given subjects' keys (chunked IN lists); `lock` (PostgreSQL) holds them until the transaction ends. */
export async function selectDataKeysOfSubjects(db: SqlExecutor, tenantId: string, subjects: readonly string[], lock = false): Promise<DataKeyRow[]> {
  const forUpdate = lock && db.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const rows: DataKeyRow[] = [];
  for (let at = 0; at < subjects.length; at += 500) {
    const part = subjects.slice(at, at + 500);
    rows.push(...(await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND subject IN (${part.map(() => '?').join(', ')})${forUpdate}`, [tenantId, ...part])));
  }
  return rows;
}

/** Every version of the given key ids. */
export async function selectDataKeysById(db: SqlExecutor, tenantId: string, keyIds: readonly string[]): Promise<DataKeyRow[]> {
  const rows: DataKeyRow[] = [];
  for (let at = 0; at < keyIds.length; at += 500) {
    const part = keyIds.slice(at, at + 500);
    rows.push(...(await db.query<DataKeyRow>(`SELECT ${dataKeyColumns} FROM ${db.table('data_keys')} WHERE tenant_id = ? AND key_id IN (${part.map(() => '?').join(', ')})`, [tenantId, ...part])));
  }
  return rows;
}

/** Inserts many keys; returns the subjects actually inserted (another process may have won some). */
export async function insertDataKeys(db: SqlExecutor, rows: ReadonlyArray<{ tenantId: string; keyId: string; subject: string; version: number; wrapped: Uint8Array; kekVersion: number; createdAt: number }>): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let at = 0; at < rows.length; at += 100) {
    const part = rows.slice(at, at + 100);
    const returned = await db.query<{ subject: string }>(
      `INSERT INTO ${db.table('data_keys')} (tenant_id, key_id, subject, version, wrapped, kek_version, created_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING RETURNING subject`,
      part.flatMap((r) => [r.tenantId, r.keyId, r.subject, r.version, r.wrapped, r.kekVersion, r.createdAt]),
    );
    for (const row of returned) inserted.add(row.subject);
  }
  return inserted;
}

/** Destroys every version of a subject's key: the wrapped bytes are overwritten with NULL. */
export async function shredDataKeys(db: SqlExecutor, tenantId: string, subject: string, at: number): Promise<number> {
  return db.execute(`UPDATE ${db.table('data_keys')} SET wrapped = NULL, shredded_at = ? WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL`, [at, tenantId, subject]);
}

/**
 * Retires data key versions older than `generation`, except those of `keep` (key ids some stored
 * data still references). Shredded rows stay: they are what refuses new data about an erased
 * subject. Returns the number of versions removed.
 */
export async function deleteDataKeysBefore(db: SqlExecutor, tenantId: string, generation: number, keep: readonly string[]): Promise<number> {
  const table = db.table('data_keys');
  if (keep.length === 0) return db.execute(`DELETE FROM ${table} WHERE tenant_id = ? AND version < ? AND wrapped IS NOT NULL`, [tenantId, generation]);
  // Few ids in practice (only data that could not be re-encrypted); chunked all the same.
  const kept = new Set(keep);
  const candidates = await db.query<{ key_id: string; version: number }>(`SELECT key_id, version FROM ${table} WHERE tenant_id = ? AND version < ? AND wrapped IS NOT NULL`, [tenantId, generation]);
  let removed = 0;
  for (const row of candidates) {
    if (kept.has(row.key_id)) continue;
    removed += await db.execute(`DELETE FROM ${table} WHERE tenant_id = ? AND key_id = ? AND version = ? AND wrapped IS NOT NULL`, [tenantId, row.key_id, row.version]);
  }
  return removed;
}

/** Retires key-encryption key versions older than `generation` that no live data key needs. */
export async function deleteKeksBefore(db: SqlExecutor, tenantId: string, generation: number): Promise<number> {
  const tenantKeys = db.table('tenant_keys');
  const dataKeys = db.table('data_keys');
  return db.execute(
    `DELETE FROM ${tenantKeys} WHERE tenant_id = ? AND purpose = 'kek' AND version < ? AND NOT EXISTS (SELECT 1 FROM ${dataKeys} d WHERE d.tenant_id = ? AND d.kek_version = ${tenantKeys}.version AND d.wrapped IS NOT NULL)`,
    [tenantId, generation, tenantId],
  );
}

export interface WrappedTenantKeyRow extends TenantKeyRow {
  readonly tenant_id: string;
  readonly purpose: 'kek' | 'index';
}

export async function selectTenantKeysBelowMaster(db: SqlExecutor, masterVersion: number, limit: number): Promise<WrappedTenantKeyRow[]> {
  return db.query<WrappedTenantKeyRow>(
    `SELECT tenant_id, purpose, version, wrapped, master_version FROM ${db.table('tenant_keys')} WHERE master_version < ? ORDER BY tenant_id, purpose, version LIMIT ?`,
    [masterVersion, limit],
  );
}

export async function countTenantKeysBelowMaster(db: SqlExecutor, masterVersion: number): Promise<number> {
  const rows = await db.query<{ n: number | string }>(
    `SELECT (SELECT COUNT(*) FROM ${db.table('tenant_keys')} WHERE master_version < ?) + (SELECT COUNT(*) FROM ${db.table('signing_keys')} WHERE master_version < ?) AS n`,
    [masterVersion, masterVersion],
  );
  return Number(rows[0]?.n ?? 0);
}

export interface SigningKeyRow {
  readonly purpose: string;
  readonly version: number;
  readonly wrapped: Uint8Array;
  readonly master_version: number;
}

export async function selectSigningKey(db: SqlExecutor, purpose: string, version?: number): Promise<SigningKeyRow | undefined> {
  const table = db.table('signing_keys');
  const rows =
    version === undefined
      ? await db.query<SigningKeyRow>(`SELECT purpose, version, wrapped, master_version FROM ${table} WHERE purpose = ? ORDER BY version DESC LIMIT 1`, [purpose])
      : await db.query<SigningKeyRow>(`SELECT purpose, version, wrapped, master_version FROM ${table} WHERE purpose = ? AND version = ?`, [purpose, version]);
  return rows[0];
}

export async function insertSigningKey(db: SqlExecutor, row: { purpose: string; version: number; wrapped: Uint8Array; masterVersion: number; createdAt: number }): Promise<boolean> {
  const changed = await db.execute(`INSERT INTO ${db.table('signing_keys')} (purpose, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, [
    row.purpose,
    row.version,
    row.wrapped,
    row.masterVersion,
    row.createdAt,
  ]);
  return changed === 1;
}

/** Every version of a purpose's signing keys, newest first. */
export async function selectSigningKeys(db: SqlExecutor, purpose: string): Promise<Array<SigningKeyRow & { created_at: number | string }>> {
  return db.query(`SELECT purpose, version, wrapped, master_version, created_at FROM ${db.table('signing_keys')} WHERE purpose = ? ORDER BY version DESC`, [purpose]);
}

/** Removes a purpose's versions below `version`; returns how many went. */
export async function deleteSigningKeysBefore(db: SqlExecutor, purpose: string, version: number): Promise<number> {
  return db.execute(`DELETE FROM ${db.table('signing_keys')} WHERE purpose = ? AND version < ?`, [purpose, version]);
}

export async function selectSigningKeysBelowMaster(db: SqlExecutor, masterVersion: number, limit: number): Promise<SigningKeyRow[]> {
  return db.query<SigningKeyRow>(`SELECT purpose, version, wrapped, master_version FROM ${db.table('signing_keys')} WHERE master_version < ? ORDER BY purpose, version LIMIT ?`, [masterVersion, limit]);
}

export async function updateSigningKeyWrap(db: SqlExecutor, row: SigningKeyRow, wrapped: Uint8Array, masterVersion: number): Promise<boolean> {
  const changed = await db.execute(`UPDATE ${db.table('signing_keys')} SET wrapped = ?, master_version = ? WHERE purpose = ? AND version = ? AND master_version = ?`, [
    wrapped,
    masterVersion,
    row.purpose,
    row.version,
    row.master_version,
  ]);
  return changed === 1;
}

/** Re-wrap under another master version; false when someone else changed the row first. */
export async function updateTenantKeyWrap(db: SqlExecutor, row: WrappedTenantKeyRow, wrapped: Uint8Array, masterVersion: number): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('tenant_keys')} SET wrapped = ?, master_version = ? WHERE tenant_id = ? AND purpose = ? AND version = ? AND master_version = ?`,
    [wrapped, masterVersion, row.tenant_id, row.purpose, row.version, row.master_version],
  );
  return changed === 1;
}

export async function selectMasterVersionsInUse(db: SqlExecutor): Promise<number[]> {
  const rows = await db.query<{ master_version: number }>(`SELECT DISTINCT master_version FROM ${db.table('tenant_keys')} UNION SELECT DISTINCT master_version FROM ${db.table('signing_keys')}`);
  return rows.map((r) => Number(r.master_version));
}

export interface KeyCensusRow {
  readonly tenant_id: string;
  readonly kind: string;
  readonly version: number;
  readonly live: number | string;
  readonly destroyed: number | string;
}

/** How many keys of each kind and version each tenant holds (for `tresor keys status`). */
export async function selectKeyCensus(db: SqlExecutor): Promise<KeyCensusRow[]> {
  return db.query<KeyCensusRow>(
    `SELECT tenant_id, purpose AS kind, version, COUNT(*) AS live, 0 AS destroyed FROM ${db.table('tenant_keys')} GROUP BY tenant_id, purpose, version
     UNION ALL
     SELECT tenant_id, 'data' AS kind, version, SUM(CASE WHEN wrapped IS NULL THEN 0 ELSE 1 END) AS live, SUM(CASE WHEN wrapped IS NULL THEN 1 ELSE 0 END) AS destroyed FROM ${db.table('data_keys')} GROUP BY tenant_id, version
     ORDER BY 1, 2, 3`,
  );
}

export interface KeyHoldRow {
  readonly holder: string;
  readonly master_version: number;
  readonly until: number | string | null;
  readonly held_at: number | string;
}

export async function selectKeyHolds(db: SqlExecutor): Promise<KeyHoldRow[]> {
  return db.query<KeyHoldRow>(`SELECT holder, master_version, until, held_at FROM ${db.table('key_holds')} ORDER BY master_version, holder`);
}

/** Adds the holder's versions (kept where already held) and sets its expected end on all of them. */
export async function upsertKeyHolds(db: SqlDatabase, holder: string, versions: readonly number[], until: number | null, at: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (const version of versions) {
      await tx.execute(`INSERT INTO ${tx.table('key_holds')} (holder, master_version, until, held_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, [holder, version, until, at]);
    }
    await tx.execute(`UPDATE ${tx.table('key_holds')} SET until = ? WHERE holder = ?`, [until, holder]);
  });
}

export async function deleteKeyHolds(db: SqlExecutor, holders: readonly string[]): Promise<number> {
  let removed = 0;
  for (let at = 0; at < holders.length; at += 500) {
    const part = holders.slice(at, at + 500);
    removed += await db.execute(`DELETE FROM ${db.table('key_holds')} WHERE holder IN (${part.map(() => '?').join(', ')})`, part);
  }
  return removed;
}
