import { careSubjectsSql } from './search/sql.js';
import type { SqlExecutor, SqlValue } from '../platform/db/index.js';
import type { IndexEntry } from './search/index-entries.js';

/** `deleted`: 0 live, 1 deleted (history kept), 2 erased (its data key destroyed). */
export interface CurrentRow {
  readonly version_id: number;
  readonly last_updated: number;
  readonly deleted: number;
  readonly content: string;
  readonly sealed: string | null;
  readonly key_subject: string | null;
}

export interface VersionRow {
  readonly version_id: number;
  readonly last_updated: number;
  readonly deleted: number;
  readonly content: string | null;
  readonly sealed: string | null;
}

export interface WriteRow {
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
  readonly lastUpdated: number;
  readonly sortDate: number | null;
  /** The plaintext elements (JSON object text); the rest is in `sealed`. */
  readonly content: string;
  readonly sealed: string | null;
  readonly keySubject: string;
  /** The data key that sealed `sealed` (null when nothing is sealed). */
  readonly keyId: string | null;
  readonly keyVersion: number | null;
}

export interface Link {
  readonly type: string;
  readonly id: string;
}

export async function selectCurrent(db: SqlExecutor, type: string, id: string): Promise<CurrentRow | undefined> {
  const rows = await db.query<CurrentRow>(`SELECT version_id, last_updated, deleted, content, sealed, key_subject FROM ${db.table('resources')} WHERE resource_type = ? AND id = ?`, [type, id]);
  return rows[0];
}

export async function selectVersion(db: SqlExecutor, type: string, id: string, versionId: number): Promise<VersionRow | undefined> {
  const rows = await db.query<VersionRow>(
    `SELECT version_id, last_updated, deleted, content, sealed FROM ${db.table('resource_versions')} WHERE resource_type = ? AND id = ? AND version_id = ?`,
    [type, id, versionId],
  );
  return rows[0];
}

export async function selectHistory(db: SqlExecutor, type: string, id: string, limit: number, offset: number): Promise<VersionRow[]> {
  return db.query<VersionRow>(
    `SELECT version_id, last_updated, deleted, content, sealed FROM ${db.table('resource_versions')} WHERE resource_type = ? AND id = ? ORDER BY version_id DESC LIMIT ? OFFSET ?`,
    [type, id, limit, offset],
  );
}

export async function insertCurrent(db: SqlExecutor, row: WriteRow): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('resources')} (resource_type, id, version_id, last_updated, deleted, sort_date, content, sealed, key_subject, key_id, key_version) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
    [row.type, row.id, row.versionId, row.lastUpdated, row.sortDate, row.content, row.sealed, row.keySubject, row.keyId, row.keyVersion],
  );
}

/**
 * Optimistic: changes nothing (returns false) when another writer moved the version on. A
 * delete keeps no content in the current row: the last version in resource_versions has it.
 */
export async function updateCurrent(db: SqlExecutor, row: WriteRow, expectedVersion: number, deleted: boolean): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('resources')} SET version_id = ?, last_updated = ?, deleted = ?, sort_date = ?, content = ?, sealed = ?, key_subject = ?, key_id = ?, key_version = ? WHERE resource_type = ? AND id = ? AND version_id = ? AND deleted < 2`,
    deleted
      ? [row.versionId, row.lastUpdated, 1, null, '{}', null, row.keySubject, null, null, row.type, row.id, expectedVersion]
      : [row.versionId, row.lastUpdated, 0, row.sortDate, row.content, row.sealed, row.keySubject, row.keyId, row.keyVersion, row.type, row.id, expectedVersion],
  );
  return changed === 1;
}

export async function insertVersion(db: SqlExecutor, row: WriteRow, deleted: boolean): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('resource_versions')} (resource_type, id, version_id, last_updated, deleted, content, sealed, key_id, key_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    deleted
      ? [row.type, row.id, row.versionId, row.lastUpdated, 1, null, null, null, null]
      : [row.type, row.id, row.versionId, row.lastUpdated, 0, row.content, row.sealed, row.keyId, row.keyVersion],
  );
}

const chunk = 64;

async function insertRows(db: SqlExecutor, table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    await db.execute(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => placeholders).join(', ')}`, part.flat());
  }
}

/**
 * Each row repeats its record's sort keys and compartment (records/004): a search walks one
 * index in page order. Identical entries are written once, so a walk meets a record once.
 */
export async function replaceIndex(db: SqlExecutor, row: Pick<WriteRow, 'type' | 'id' | 'lastUpdated' | 'sortDate' | 'keySubject'>, entries: readonly IndexEntry[], previous: boolean): Promise<void> {
  const table = db.table('search_index');
  if (previous) await db.execute(`DELETE FROM ${table} WHERE resource_type = ? AND resource_id = ?`, [row.type, row.id]);
  const distinct = new Map<string, IndexEntry>();
  for (const e of entries) distinct.set(JSON.stringify([e.param, e.system, e.value, e.low, e.high]), e);
  await insertRows(
    db,
    table,
    ['resource_type', 'resource_id', 'param', 'system', 'value', 'low', 'high', 'last_updated', 'sort_date', 'key_subject'],
    [...distinct.values()].map((e) => [row.type, row.id, e.param, e.system, e.value, e.low, e.high, row.lastUpdated, row.sortDate, row.keySubject]),
  );
}

export async function replaceLinks(db: SqlExecutor, type: string, id: string, links: readonly Link[], previous: boolean): Promise<void> {
  const table = db.table('resource_links');
  if (previous) await db.execute(`DELETE FROM ${table} WHERE resource_type = ? AND resource_id = ?`, [type, id]);
  await insertRows(db, table, ['resource_type', 'resource_id', 'target_type', 'target_id'], links.map((l) => [type, id, l.type, l.id]));
}

/** Which of `targets` exist and are not deleted. */
export async function selectLive(db: SqlExecutor, targets: readonly Link[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < targets.length; start += chunk) {
    const part = targets.slice(start, start + chunk);
    const rows = await db.query<{ resource_type: string; id: string }>(
      `SELECT resource_type, id FROM ${db.table('resources')} WHERE deleted = 0 AND (${part.map(() => '(resource_type = ? AND id = ?)').join(' OR ')})`,
      part.flatMap((t) => [t.type, t.id]),
    );
    for (const row of rows) found.add(`${row.resource_type}/${row.id}`);
  }
  return found;
}

export async function selectReferrer(db: SqlExecutor, type: string, id: string): Promise<Link | undefined> {
  const rows = await db.query<{ resource_type: string; resource_id: string }>(
    `SELECT resource_type, resource_id FROM ${db.table('resource_links')} WHERE target_type = ? AND target_id = ? LIMIT 1`,
    [type, id],
  );
  const row = rows[0];
  return row === undefined ? undefined : { type: row.resource_type, id: row.resource_id };
}

export interface PageRow {
  readonly id: string;
  readonly version_id: number;
  readonly content: string;
  readonly sealed: string | null;
  readonly key_subject: string | null;
  readonly last_updated: number | string;
  readonly sort_date: number | string | null;
}

export async function selectPage(db: SqlExecutor, sql: string, params: readonly SqlValue[]): Promise<PageRow[]> {
  return db.query<PageRow>(sql, params);
}

export interface CompartmentRow extends PageRow {
  readonly resource_type: string;
}

/**
 * One page of the live records sealed under a subject's key (a patient's compartment as
 * crypto-shredding sees it), in (type, id) order after `after`: a keyset walk of the
 * (key_subject, resource_type, id) index (records/006), so a deep page costs what the first does.
 */
export async function selectCompartment(
  db: SqlExecutor,
  subject: string,
  page: { readonly types: readonly string[]; readonly since: number | undefined; readonly after: { readonly type: string; readonly id: string } | undefined; readonly count: number },
): Promise<CompartmentRow[]> {
  if (page.types.length === 0) return [];
  const where = [`key_subject = ?`, `deleted = 0`, `resource_type IN (${page.types.map(() => '?').join(', ')})`];
  const params: SqlValue[] = [subject, ...page.types];
  if (page.since !== undefined) {
    where.push('last_updated >= ?');
    params.push(page.since);
  }
  if (page.after !== undefined) {
    where.push('(resource_type > ? OR (resource_type = ? AND id > ?))');
    params.push(page.after.type, page.after.type, page.after.id);
  }
  params.push(page.count);
  return db.query<CompartmentRow>(
    `SELECT resource_type, id, version_id, content, sealed, key_subject, last_updated, sort_date FROM ${db.table('resources')} WHERE ${where.join(' AND ')} ORDER BY resource_type, id LIMIT ?`,
    params,
  );
}

/** How many live records are sealed under a subject's key (of these types). */
export async function countCompartment(db: SqlExecutor, subject: string, types: readonly string[]): Promise<number> {
  if (types.length === 0) return 0;
  return selectCount(db, `SELECT COUNT(*) AS total FROM ${db.table('resources')} WHERE key_subject = ? AND deleted = 0 AND resource_type IN (${types.map(() => '?').join(', ')})`, [subject, ...types]);
}

/**
 * Crypto-shredding, the records' half: every current resource sealed under the subject's key
 * is marked erased and leaves the search index and the reference table. Idempotent.
 */
export async function eraseSubject(db: SqlExecutor, subject: string): Promise<number> {
  const resources = db.table('resources');
  const owned = `(resource_type, resource_id) IN (SELECT resource_type, id FROM ${resources} WHERE key_subject = ?)`;
  await db.execute(`DELETE FROM ${db.table('search_index')} WHERE ${owned}`, [subject]);
  await db.execute(`DELETE FROM ${db.table('resource_links')} WHERE ${owned}`, [subject]);
  return db.execute(`UPDATE ${resources} SET deleted = 2 WHERE key_subject = ? AND deleted < 2`, [subject]);
}

/**
 * Erases the records of `types` sealed under `subject`'s key, which stays: their stored versions
 * lose their sealed and clear content and their index rows, and reads answer 410 as for a shredded
 * subject (retention by class, privacy/retention.ts). Older copies leave backups only as the
 * snapshots holding them age out: no key is destroyed. The key columns go too, so the key-floor
 * triggers (records/003) let the change through after a rotation, and the rotation job has nothing
 * left to move.
 */
export async function eraseSubjectTypes(db: SqlExecutor, subject: string, types: readonly string[]): Promise<number> {
  if (types.length === 0) return 0;
  const resources = db.table('resources');
  const marks = types.map(() => '?').join(', ');
  const owned = `(resource_type, resource_id) IN (SELECT resource_type, id FROM ${resources} WHERE key_subject = ? AND resource_type IN (${marks}))`;
  await db.execute(`DELETE FROM ${db.table('search_index')} WHERE ${owned}`, [subject, ...types]);
  await db.execute(`DELETE FROM ${db.table('resource_links')} WHERE ${owned}`, [subject, ...types]);
  await db.execute(
    `UPDATE ${db.table('resource_versions')} SET content = NULL, sealed = NULL, key_id = NULL, key_version = NULL WHERE (resource_type, id) IN (SELECT resource_type, id FROM ${resources} WHERE key_subject = ? AND resource_type IN (${marks}) AND deleted < 2)`,
    [subject, ...types],
  );
  return db.execute(`UPDATE ${resources} SET deleted = 2, content = '{}', sealed = NULL, key_id = NULL, key_version = NULL WHERE key_subject = ? AND resource_type IN (${marks}) AND deleted < 2`, [subject, ...types]);
}

export async function selectCount(db: SqlExecutor, sql: string, params: readonly SqlValue[]): Promise<number> {
  const rows = await db.query<{ total: number | string }>(sql, params);
  return Number(rows[0]?.total ?? 0);
}

/** The key-floor triggers (records/003) refused a write sealed under a retired key generation. */
export function isStaleKey(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === 'P0001' || code === 'SQLITE_CONSTRAINT_TRIGGER') && message === 'tresor:stale-key';
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Whether a patient is in a practitioner's care (see careSubjectsSql: generalPractitioner or a shared Appointment). */
export async function selectInCare(db: SqlExecutor, subject: string, practitionerId: string): Promise<boolean> {
  const care = careSubjectsSql(db);
  const rows = await db.query<{ one: number }>(`SELECT 1 AS one WHERE ? IN (${care.sql})`, [subject, practitionerId, practitionerId]);
  return rows.length > 0;
}

/**
 * Serialises conditional creates with the same criteria until the transaction ends. SQLite
 * needs nothing: a write transaction holds the file's only write lock (BEGIN IMMEDIATE), and the
 * units of a group commit run one after another. PostgreSQL reads committed data per statement,
 * so two transactions would both find no match; a transaction-level advisory lock on the
 * criteria (per data set) makes the second wait for the first's commit, then find its record.
 */
export async function lockCriteria(db: SqlExecutor, criteria: string): Promise<void> {
  if (db.dialect !== 'postgres') return;
  await db.query(`SELECT pg_advisory_xact_lock(hashtext(?))`, [`tresor:if-none-exist:${db.table('resources')}:${criteria}`]);
}

/** Live records per resource type (neither deleted nor erased): the counts records of processing show. */
export async function countLiveResources(db: SqlExecutor): Promise<Record<string, number>> {
  const rows = await db.query<{ resource_type: string; n: number | string }>(`SELECT resource_type, COUNT(*) AS n FROM ${db.table('resources')} WHERE deleted = 0 GROUP BY resource_type`);
  return Object.fromEntries(rows.map((r) => [r.resource_type, Number(r.n)]));
}
