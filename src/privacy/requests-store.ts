import type { SqlExecutor } from '../platform/db/index.js';
import type { RequestChannel, RequestHistoryEntry, RequestState, RequestType } from './requests-types.js';

/** A stored request: clear columns, and the sealed texts as stored (`<key id>.<version>.<base64url>`). */
export interface RequestRow {
  readonly id: string;
  readonly type: RequestType;
  readonly subject: string;
  readonly channel: RequestChannel;
  readonly state: RequestState;
  readonly receivedAt: number;
  readonly dueAt: number;
  readonly extendedAt: number | undefined;
  readonly owner: string | undefined;
  readonly createdBy: string;
  readonly updatedAt: number;
  readonly closedAt: number | undefined;
  readonly stages: readonly string[];
  readonly sealed: string | undefined;
}

export interface RequestFilter {
  readonly subject?: string;
  readonly state?: RequestState;
  readonly type?: RequestType;
  /** Open and past their due date at `now`. */
  readonly overdueAt?: number;
  readonly open?: boolean;
  readonly limit: number;
}

interface Raw {
  id: string;
  type: string;
  subject: string;
  channel: string;
  state: string;
  received_at: number | string;
  due_at: number | string;
  extended_at: number | string | null;
  owner: string | null;
  created_by: string;
  updated_at: number | string;
  closed_at: number | string | null;
  stages: string;
  sealed: string | null;
}

const columns = 'id, type, subject, channel, state, received_at, due_at, extended_at, owner, created_by, updated_at, closed_at, stages, sealed';
const optional = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value));

const toRow = (raw: Raw): RequestRow => ({
  id: raw.id,
  type: raw.type as RequestType,
  subject: raw.subject,
  channel: raw.channel as RequestChannel,
  state: raw.state as RequestState,
  receivedAt: Number(raw.received_at),
  dueAt: Number(raw.due_at),
  extendedAt: optional(raw.extended_at),
  owner: raw.owner ?? undefined,
  createdBy: raw.created_by,
  updatedAt: Number(raw.updated_at),
  closedAt: optional(raw.closed_at),
  stages: raw.stages === '' ? [] : raw.stages.split(','),
  sealed: raw.sealed ?? undefined,
});

export async function insertRequest(db: SqlExecutor, row: RequestRow): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('privacy_requests')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    row.id,
    row.type,
    row.subject,
    row.channel,
    row.state,
    row.receivedAt,
    row.dueAt,
    row.extendedAt ?? null,
    row.owner ?? null,
    row.createdBy,
    row.updatedAt,
    row.closedAt ?? null,
    row.stages.join(','),
    row.sealed ?? null,
  ]);
}

/**
 * Writes a change, only if the row is still as read (`updated_at` and `state`): two staff acting
 * on one request at once get one success and one conflict, never a lost update. False: it changed.
 */
export async function updateRequest(db: SqlExecutor, before: RequestRow, after: RequestRow): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('privacy_requests')} SET state = ?, due_at = ?, extended_at = ?, owner = ?, updated_at = ?, closed_at = ?, stages = ?, sealed = ? WHERE id = ? AND updated_at = ? AND state = ?`,
    [after.state, after.dueAt, after.extendedAt ?? null, after.owner ?? null, after.updatedAt, after.closedAt ?? null, after.stages.join(','), after.sealed ?? null, before.id, before.updatedAt, before.state],
  );
  return changed === 1;
}

export async function selectRequest(db: SqlExecutor, id: string): Promise<RequestRow | undefined> {
  const rows = await db.query<Raw>(`SELECT ${columns} FROM ${db.table('privacy_requests')} WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toRow(rows[0]);
}

/** The queue: by due date, soonest first (overdue ones first of all). */
export async function selectRequests(db: SqlExecutor, filter: RequestFilter): Promise<RequestRow[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.subject !== undefined) (where.push('subject = ?'), params.push(filter.subject));
  if (filter.state !== undefined) (where.push('state = ?'), params.push(filter.state));
  if (filter.type !== undefined) (where.push('type = ?'), params.push(filter.type));
  if (filter.open === true || filter.overdueAt !== undefined) where.push(`state IN ('received', 'in-progress')`);
  if (filter.overdueAt !== undefined) (where.push('due_at < ?'), params.push(filter.overdueAt));
  params.push(filter.limit);
  const rows = await db.query<Raw>(`SELECT ${columns} FROM ${db.table('privacy_requests')}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY due_at, id LIMIT ?`, params);
  return rows.map(toRow);
}

/** Claims deadline stages for a request (the deadline job): true when this round claimed them. */
export async function claimStages(db: SqlExecutor, row: RequestRow, stages: readonly string[]): Promise<boolean> {
  const changed = await db.execute(`UPDATE ${db.table('privacy_requests')} SET stages = ? WHERE id = ? AND stages = ? AND state IN ('received', 'in-progress')`, [
    [...row.stages, ...stages].join(','),
    row.id,
    row.stages.join(','),
  ]);
  return changed === 1;
}

/** Gives back claimed stages when their event could not be recorded (the next round tries again). */
export async function releaseStages(db: SqlExecutor, id: string, stages: readonly string[]): Promise<void> {
  await db.execute(`UPDATE ${db.table('privacy_requests')} SET stages = ? WHERE id = ?`, [stages.join(','), id]);
}

/** GDPR Art. 17: the subject's requests keep id, type, dates and state; their sealed text goes. */
export async function clearSealed(db: SqlExecutor, subject: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM ${db.table('privacy_requests')} WHERE subject = ? AND sealed IS NOT NULL`, [subject]);
  await db.execute(`UPDATE ${db.table('privacy_requests')} SET sealed = NULL WHERE subject = ?`, [subject]);
  return rows.map((r) => r.id);
}

export async function appendLog(db: SqlExecutor, id: string, entry: RequestHistoryEntry): Promise<void> {
  const next = await db.query<{ seq: number | string | null }>(`SELECT MAX(seq) AS seq FROM ${db.table('privacy_request_log')} WHERE request_id = ?`, [id]);
  const seq = Number(next[0]?.seq ?? 0) + 1;
  await db.execute(`INSERT INTO ${db.table('privacy_request_log')} (request_id, seq, at, by_actor, action, state) VALUES (?, ?, ?, ?, ?, ?)`, [id, seq, entry.at, entry.by, entry.action, entry.state]);
}

export async function selectLog(db: SqlExecutor, id: string): Promise<RequestHistoryEntry[]> {
  const rows = await db.query<{ at: number | string; by_actor: string; action: string; state: string }>(`SELECT at, by_actor, action, state FROM ${db.table('privacy_request_log')} WHERE request_id = ? ORDER BY seq`, [id]);
  return rows.map((r) => ({ at: Number(r.at), by: r.by_actor, action: r.action, state: r.state as RequestState }));
}
