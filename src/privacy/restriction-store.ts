import type { SqlExecutor } from '../platform/db/index.js';

/** A restricted patient's row (GDPR Art. 18). */
export interface RestrictionRow {
  readonly patient: string;
  readonly ground: string;
  readonly allowed_roles: string;
  readonly restricted_by: string;
  readonly request_id: string | null;
  readonly restricted_at: number | string;
}

export async function selectRestriction(db: SqlExecutor, patient: string): Promise<RestrictionRow | undefined> {
  const rows = await db.query<RestrictionRow>(`SELECT patient, ground, allowed_roles, restricted_by, request_id, restricted_at FROM ${db.table('privacy_restrictions')} WHERE patient = ?`, [patient]);
  return rows[0];
}

/** Every restricted patient of the tenant, the most recent first (one row per patient, so a tenant's list stays short). */
export async function selectRestrictions(db: SqlExecutor, limit: number): Promise<RestrictionRow[]> {
  return db.query<RestrictionRow>(`SELECT patient, ground, allowed_roles, restricted_by, request_id, restricted_at FROM ${db.table('privacy_restrictions')} ORDER BY restricted_at DESC, patient LIMIT ?`, [limit]);
}

export async function upsertRestriction(db: SqlExecutor, row: Omit<RestrictionRow, 'restricted_at'> & { readonly restricted_at: number }): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('privacy_restrictions')} WHERE patient = ?`, [row.patient]);
  await db.execute(
    `INSERT INTO ${db.table('privacy_restrictions')} (patient, ground, allowed_roles, restricted_by, request_id, restricted_at) VALUES (?, ?, ?, ?, ?, ?)`,
    [row.patient, row.ground, row.allowed_roles, row.restricted_by, row.request_id, row.restricted_at],
  );
}

export async function deleteRestriction(db: SqlExecutor, patient: string): Promise<number> {
  return db.execute(`DELETE FROM ${db.table('privacy_restrictions')} WHERE patient = ?`, [patient]);
}

/**
 * For the guard, in one round trip: the live Consent versions (`c`) and the restriction (`r`) of
 * these patients. `consents.ts` compares the versions with what it has parsed; nothing is
 * decrypted here.
 */
export async function selectRulesOf(db: SqlExecutor, patients: readonly string[]): Promise<Array<{ patient: string; kind: 'c' | 'r'; ref: string; version: number }>> {
  const marks = patients.map(() => '?').join(', ');
  // SQLite's planner, without statistics, walks resources_updated (every Consent of the tenant); the partial index reads only these patients'.
  const consentIndex = db.dialect === 'sqlite' ? ' INDEXED BY privacy_consents_of_patient' : '';
  return db.query(
    `SELECT key_subject AS patient, 'c' AS kind, id AS ref, version_id AS version FROM ${db.table('resources')}${consentIndex} WHERE resource_type = 'Consent' AND key_subject IN (${marks}) AND deleted = 0 ` +
      `UNION ALL SELECT patient, 'r' AS kind, allowed_roles AS ref, 0 AS version FROM ${db.table('privacy_restrictions')} WHERE patient IN (${marks})`,
    [...patients, ...patients],
  );
}
