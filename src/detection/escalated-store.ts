import type { SqlExecutor } from '../platform/db/index.js';
import type { PagePlace } from './page-token.js';
import type { Alert, AlertState } from './store.js';
import type { Severity } from './types.js';

/** A tenant alert as the operators' level of its escalation knows it (escalated-migrations.ts): the alert's outward fields, its state as last known (the tenant's data set holds the truth; escalated.ts re-reads it). */
export interface EscalatedRecord extends Pick<Alert, 'realm' | 'rule' | 'severity' | 'title' | 'subject' | 'summary' | 'state' | 'count' | 'firstAt' | 'lastAt'> {
  readonly alertId: string;
  /** When the escalation first reached the operators' level. */
  readonly reachedAt: number;
}

interface Row {
  realm: string;
  alert_id: string;
  rule: string;
  severity: string;
  title: string;
  subject: string;
  summary: string;
  state: string;
  count: number | string;
  first_at: number | string;
  last_at: number | string;
  reached_at: number | string;
}

const columns = 'realm, alert_id, rule, severity, title, subject, summary, state, count, first_at, last_at, reached_at';

const toRecord = (row: Row): EscalatedRecord => ({
  realm: row.realm,
  alertId: row.alert_id,
  rule: row.rule,
  severity: row.severity as Severity,
  title: row.title,
  subject: row.subject,
  summary: row.summary,
  state: row.state as AlertState,
  count: Number(row.count),
  firstAt: Number(row.first_at),
  lastAt: Number(row.last_at),
  reachedAt: Number(row.reached_at),
});

/** The tie-breaking key of a record in the list's order (reached_at, realm, alert_id). */
export const recordKey = (record: Pick<EscalatedRecord, 'realm' | 'alertId'>): string => `${record.realm}/${record.alertId}`;

/**
 * The alert reached the operators (again: it grew more severe): its outward fields now, and the
 * time it first reached them, kept on a repeat.
 */
export async function saveEscalated(db: SqlExecutor, alert: Alert, reachedAt: number): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('escalated_alerts')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (realm, alert_id) DO UPDATE SET severity = excluded.severity, title = excluded.title, summary = excluded.summary, state = excluded.state, count = excluded.count, last_at = excluded.last_at`,
    [alert.realm, alert.id, alert.rule, alert.severity, alert.title, alert.subject, alert.summary, alert.state, alert.count, alert.firstAt, alert.lastAt, reachedAt],
  );
}

/** The tenant alert changed (acknowledged, resolved, joined): the record follows, if there is one. */
export async function refreshEscalated(db: SqlExecutor, alert: Alert): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('escalated_alerts')} SET severity = ?, summary = ?, state = ?, count = ?, last_at = ? WHERE realm = ? AND alert_id = ?`,
    [alert.severity, alert.summary, alert.state, alert.count, alert.lastAt, alert.realm, alert.id],
  );
  return changed === 1;
}

export interface EscalatedFilter {
  readonly state?: AlertState;
  /** The last record of the previous page (newest first). */
  readonly after?: PagePlace;
  readonly limit: number;
}

/** Newest escalation first; keyset paging on (reached_at, realm/alert_id), the order's own key. */
export async function selectEscalated(db: SqlExecutor, filter: EscalatedFilter): Promise<EscalatedRecord[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.state !== undefined) (where.push('state = ?'), params.push(filter.state));
  if (filter.after !== undefined) {
    const [realm, alertId] = filter.after.key.split('/') as [string, string];
    where.push('(reached_at < ? OR (reached_at = ? AND (realm < ? OR (realm = ? AND alert_id < ?))))');
    params.push(filter.after.at, filter.after.at, realm, realm, alertId ?? '');
  }
  const rows = await db.query<Row>(
    `SELECT ${columns} FROM ${db.table('escalated_alerts')}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY reached_at DESC, realm DESC, alert_id DESC LIMIT ?`,
    [...params, filter.limit],
  );
  return rows.map(toRecord);
}

export async function selectEscalatedOne(db: SqlExecutor, realm: string, alertId: string): Promise<EscalatedRecord | undefined> {
  const row = (await db.query<Row>(`SELECT ${columns} FROM ${db.table('escalated_alerts')} WHERE realm = ? AND alert_id = ?`, [realm, alertId]))[0];
  return row === undefined ? undefined : toRecord(row);
}
