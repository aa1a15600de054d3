import type { SqlExecutor } from '../platform/db/index.js';

export type ExportState = 'queued' | 'running' | 'ready' | 'failed' | 'expired';

/** One file of a finished download: its name in links, its media type, its size in clear. */
export interface ExportFile {
  readonly name: string;
  readonly mediaType: string;
  readonly bytes: number;
  /** The data classes it holds (for the download's audit event). */
  readonly classes: readonly string[];
}

export interface ExportRow {
  readonly id: string;
  readonly patient: string;
  readonly requestedBy: string;
  readonly requestedRole: string;
  readonly requestRef: string | undefined;
  readonly state: ExportState;
  readonly done: number;
  readonly total: number;
  readonly createdAt: number;
  readonly finishedAt: number | undefined;
  readonly expiresAt: number;
  readonly tokenHash: string | undefined;
  readonly key: { readonly id: string; readonly version: number } | undefined;
  readonly files: readonly ExportFile[];
  readonly error: string | undefined;
}

interface Row {
  id: string;
  patient: string;
  requested_by: string;
  requested_role: string;
  request_ref: string | null;
  state: ExportState;
  done: number | string;
  total: number | string;
  created_at: number | string;
  finished_at: number | string | null;
  expires_at: number | string;
  token_hash: string | null;
  key_id: string | null;
  key_version: number | string | null;
  files: string;
  error: string | null;
}

const columns = 'id, patient, requested_by, requested_role, request_ref, state, done, total, created_at, finished_at, expires_at, token_hash, key_id, key_version, files, error';

const toExport = (row: Row): ExportRow => ({
  id: row.id,
  patient: row.patient,
  requestedBy: row.requested_by,
  requestedRole: row.requested_role,
  requestRef: row.request_ref ?? undefined,
  state: row.state,
  done: Number(row.done),
  total: Number(row.total),
  createdAt: Number(row.created_at),
  finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
  expiresAt: Number(row.expires_at),
  tokenHash: row.token_hash ?? undefined,
  key: row.key_id === null || row.key_version === null ? undefined : { id: row.key_id, version: Number(row.key_version) },
  files: JSON.parse(row.files) as ExportFile[],
  error: row.error ?? undefined,
});

export async function insertExport(db: SqlExecutor, row: Pick<ExportRow, 'id' | 'patient' | 'requestedBy' | 'requestedRole' | 'requestRef' | 'createdAt' | 'expiresAt'>, owner: string): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('privacy_exports')} (id, patient, requested_by, requested_role, request_ref, state, done, total, created_at, expires_at, files, owner, heartbeat_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, 0, ?, ?, '[]', ?, ?)`,
    [row.id, row.patient, row.requestedBy, row.requestedRole, row.requestRef ?? null, row.createdAt, row.expiresAt, owner, row.createdAt],
  );
}

export async function selectExport(db: SqlExecutor, id: string): Promise<ExportRow | undefined> {
  const rows = await db.query<Row>(`SELECT ${columns} FROM ${db.table('privacy_exports')} WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toExport(rows[0]);
}

/** A patient's downloads, newest first. */
export async function selectExportsOf(db: SqlExecutor, patient: string, limit: number): Promise<ExportRow[]> {
  const rows = await db.query<Row>(`SELECT ${columns} FROM ${db.table('privacy_exports')} WHERE patient = ? ORDER BY created_at DESC, id DESC LIMIT ?`, [patient, limit]);
  return rows.map(toExport);
}

export async function updateProgress(db: SqlExecutor, id: string, progress: { readonly state: ExportState; readonly done: number; readonly total: number; readonly at: number }): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_exports')} SET state = ?, done = ?, total = ?, heartbeat_at = ? WHERE id = ?`, [progress.state, progress.done, progress.total, progress.at, id]);
}

export async function markReady(db: SqlExecutor, id: string, done: { readonly finishedAt: number; readonly expiresAt: number; readonly key: { id: string; version: number }; readonly files: readonly ExportFile[] }): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_exports')} SET state = 'ready', finished_at = ?, expires_at = ?, key_id = ?, key_version = ?, files = ? WHERE id = ?`, [
    done.finishedAt,
    done.expiresAt,
    done.key.id,
    done.key.version,
    JSON.stringify(done.files),
    id,
  ]);
}

/** A download started without a request now also answers `requestRef` (it had none): whether it was attached. */
export async function attachRequest(db: SqlExecutor, id: string, requestRef: string): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('privacy_exports')} SET request_ref = ? WHERE id = ? AND request_ref IS NULL`, [requestRef, id])) > 0;
}

export async function markFailed(db: SqlExecutor, id: string, at: number, error: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_exports')} SET state = 'failed', finished_at = ?, error = ?, token_hash = NULL WHERE id = ?`, [at, error, id]);
}

/**
 * Unfinished downloads of another server process that stopped moving (it ended, or crashed):
 * failed, to be started again. This process's own are never touched — it knows them.
 */
export async function failStale(db: SqlExecutor, at: number, staleBefore: number, owner: string): Promise<Array<{ id: string; requestRef: string | undefined }>> {
  const stale = await db.query<{ id: string; request_ref: string | null }>(`SELECT id, request_ref FROM ${db.table('privacy_exports')} WHERE state IN ('queued', 'running') AND owner <> ? AND heartbeat_at < ?`, [owner, staleBefore]);
  const failed: Array<{ id: string; requestRef: string | undefined }> = [];
  for (const row of stale) {
    // The same conditions again: a download that moved meanwhile is not failed.
    const changed = await db.execute(`UPDATE ${db.table('privacy_exports')} SET state = 'failed', finished_at = ?, error = 'interrupted' WHERE id = ? AND state IN ('queued', 'running') AND owner <> ? AND heartbeat_at < ?`, [at, row.id, owner, staleBefore]);
    if (changed > 0) failed.push({ id: row.id, requestRef: row.request_ref ?? undefined });
  }
  return failed;
}

export async function setTokenHash(db: SqlExecutor, id: string, tokenHash: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_exports')} SET token_hash = ? WHERE id = ? AND state = 'ready'`, [tokenHash, id]);
}

/** Ready downloads whose links have expired (their files are to be removed). */
export async function selectExpired(db: SqlExecutor, now: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM ${db.table('privacy_exports')} WHERE state IN ('ready', 'failed') AND expires_at <= ?`, [now]);
  return rows.map((r) => r.id);
}

export async function markExpired(db: SqlExecutor, id: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_exports')} SET state = 'expired', token_hash = NULL, files = '[]' WHERE id = ? AND state IN ('ready', 'failed')`, [id]);
}
