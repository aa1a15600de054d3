import type { SqlExecutor } from '../platform/db/index.js';

/**
 * The only SQL of erasure, legal holds and retention: their own tables, and read-only questions
 * to the records' tables (whose key a record is under, its dates) that need no opened content.
 */

export interface HoldRow {
  id: string;
  subject: string;
  reason: string;
  set_by: string;
  set_at: number | string;
  ends_at: number | string | null;
  released_at: number | string | null;
  released_by: string | null;
  release_reason: string | null;
}

export interface ErasureRow {
  id: string;
  subject: string;
  erased_at: number | string;
  approved_by: string;
  approved_role: string;
  source: string;
  reason: string;
  request_id: string | null;
  key_versions: number | string;
  records: number | string;
  consents: number | string;
  accounts: number | string;
  grants: number | string;
  requests: number | string;
  tombstone: string;
  confirmation: string;
  duty_overridden_until: number | string | null;
}

export async function insertHold(db: SqlExecutor, row: Pick<HoldRow, 'id' | 'subject' | 'reason' | 'set_by' | 'ends_at'> & { set_at: number }): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('privacy_holds')} (id, subject, reason, set_by, set_at, ends_at) VALUES (?, ?, ?, ?, ?, ?)`, [row.id, row.subject, row.reason, row.set_by, row.set_at, row.ends_at]);
}

export async function releaseHold(db: SqlExecutor, id: string, at: number, by: string, reason: string): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('privacy_holds')} SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ? AND released_at IS NULL`, [at, by, reason, id])) === 1;
}

export async function selectHolds(db: SqlExecutor, filter: { subject?: string; activeAt?: number }): Promise<HoldRow[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.subject !== undefined) {
    where.push('subject = ?');
    params.push(filter.subject);
  }
  if (filter.activeAt !== undefined) {
    where.push('released_at IS NULL AND (ends_at IS NULL OR ends_at > ?)');
    params.push(filter.activeAt);
  }
  return db.query<HoldRow>(`SELECT * FROM ${db.table('privacy_holds')}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY set_at DESC, id LIMIT 1000`, params);
}

export async function selectHold(db: SqlExecutor, id: string): Promise<HoldRow | undefined> {
  return (await db.query<HoldRow>(`SELECT * FROM ${db.table('privacy_holds')} WHERE id = ?`, [id]))[0];
}

export async function insertErasure(db: SqlExecutor, row: Omit<ErasureRow, 'erased_at' | 'key_versions' | 'records' | 'consents' | 'accounts' | 'grants' | 'requests' | 'duty_overridden_until'> & { erased_at: number; key_versions: number; records: number; consents: number; accounts: number; grants: number; requests: number; duty_overridden_until: number | null }): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('privacy_erasures')} (id, subject, erased_at, approved_by, approved_role, source, reason, request_id, key_versions, records, consents, accounts, grants, requests, tombstone, confirmation, duty_overridden_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.id, row.subject, row.erased_at, row.approved_by, row.approved_role, row.source, row.reason, row.request_id, row.key_versions, row.records, row.consents, row.accounts, row.grants, row.requests, row.tombstone, row.confirmation, row.duty_overridden_until],
  );
}

export async function updateErasureConfirmation(db: SqlExecutor, id: string, confirmation: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_erasures')} SET confirmation = ? WHERE id = ?`, [confirmation, id]);
}

export async function selectErasure(db: SqlExecutor, id: string): Promise<ErasureRow | undefined> {
  return (await db.query<ErasureRow>(`SELECT * FROM ${db.table('privacy_erasures')} WHERE id = ?`, [id]))[0];
}

export async function countErasuresOf(db: SqlExecutor, subject: string): Promise<number> {
  const rows = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('privacy_erasures')} WHERE subject = ?`, [subject]);
  return Number(rows[0]?.n ?? 0);
}

export async function selectErasures(db: SqlExecutor, limit: number): Promise<ErasureRow[]> {
  return db.query<ErasureRow>(`SELECT * FROM ${db.table('privacy_erasures')} ORDER BY erased_at DESC, id DESC LIMIT ?`, [limit]);
}

/** The stored retention settings of the tenant: name → years (null: no limit). */
export async function selectRetentionSettings(db: SqlExecutor): Promise<Map<string, number | null>> {
  const rows = await db.query<{ name: string; years: number | string | null }>(`SELECT name, years FROM ${db.table('privacy_retention_settings')}`, []);
  return new Map(rows.map((r) => [r.name, r.years === null ? null : Number(r.years)]));
}

export async function upsertRetentionSetting(db: SqlExecutor, name: string, years: number | null, at: number, by: string): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('privacy_retention_settings')} (name, years, changed_at, changed_by) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET years = excluded.years, changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
    [name, years, at, by],
  );
}

export async function deleteRetentionSetting(db: SqlExecutor, name: string): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('privacy_retention_settings')} WHERE name = ?`, [name]);
}

export async function insertRetentionRun(db: SqlExecutor, id: string, at: number, report: string, keep: number): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('privacy_retention_runs')} (id, ran_at, report) VALUES (?, ?, ?)`, [id, at, report]);
  // Only the last reports stay; each run is also in the audit trail (retention.run).
  await db.execute(`DELETE FROM ${db.table('privacy_retention_runs')} WHERE id NOT IN (SELECT id FROM ${db.table('privacy_retention_runs')} ORDER BY ran_at DESC, id DESC LIMIT ?)`, [keep]);
}

export async function selectRetentionRuns(db: SqlExecutor, limit: number): Promise<string[]> {
  return (await db.query<{ report: string }>(`SELECT report FROM ${db.table('privacy_retention_runs')} ORDER BY ran_at DESC, id DESC LIMIT ?`, [limit])).map((r) => r.report);
}

const clinicalTypes = ['Observation', 'Appointment'];

/**
 * The newest clinical date of a patient's live records, in ms: an Observation's effective date or
 * an Appointment's start (their stored sort date), else the record's lastUpdated; without any
 * clinical record, the newest lastUpdated of the patient's records. Undefined: no record at all.
 */
export async function selectLastTreatment(db: SqlExecutor, subject: string): Promise<number | undefined> {
  const resources = db.table('resources');
  const clinical = await db.query<{ at: number | string | null }>(
    `SELECT MAX(COALESCE(sort_date, last_updated)) AS at FROM ${resources} WHERE key_subject = ? AND deleted < 2 AND resource_type IN (?, ?)`,
    [subject, ...clinicalTypes],
  );
  const at = clinical[0]?.at;
  if (at !== null && at !== undefined) return Number(at);
  const any = await db.query<{ at: number | string | null }>(`SELECT MAX(last_updated) AS at FROM ${resources} WHERE key_subject = ? AND deleted < 2`, [subject]);
  const last = any[0]?.at;
  return last === null || last === undefined ? undefined : Number(last);
}

/** Whether any record (live, deleted or erased) was ever sealed under the subject's key. */
export async function subjectHasRecords(db: SqlExecutor, subject: string): Promise<boolean> {
  return (await db.query(`SELECT 1 AS one FROM ${db.table('resources')} WHERE key_subject = ? LIMIT 1`, [subject])).length > 0;
}

/** How many live FHIR Consent records are sealed under the subject's key (they go with it). */
export async function countConsentRecords(db: SqlExecutor, subject: string): Promise<number> {
  const rows = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('resources')} WHERE key_subject = ? AND resource_type = 'Consent' AND deleted < 2`, [subject]);
  return Number(rows[0]?.n ?? 0);
}

export interface SubjectActivity {
  readonly subject: string;
  readonly lastActivity: number;
  /** Live records per resource type. */
  readonly types: ReadonlyMap<string, number>;
}

/** Every patient with live records: their last activity (newest lastUpdated) and record counts per type. */
export async function selectPatientActivity(db: SqlExecutor): Promise<SubjectActivity[]> {
  const rows = await db.query<{ key_subject: string; resource_type: string; n: number | string; last: number | string }>(
    `SELECT key_subject, resource_type, COUNT(*) AS n, MAX(last_updated) AS last FROM ${db.table('resources')} WHERE key_subject LIKE 'Patient/%' AND deleted < 2 GROUP BY key_subject, resource_type ORDER BY key_subject`,
    [],
  );
  const bySubject = new Map<string, { last: number; types: Map<string, number> }>();
  for (const r of rows) {
    const entry = bySubject.get(r.key_subject) ?? { last: 0, types: new Map<string, number>() };
    entry.last = Math.max(entry.last, Number(r.last));
    entry.types.set(r.resource_type, Number(r.n));
    bySubject.set(r.key_subject, entry);
  }
  return [...bySubject.entries()].map(([subject, e]) => ({ subject, lastActivity: e.last, types: e.types }));
}
