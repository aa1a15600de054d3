import type { Migration, SqlExecutor } from '../platform/db/index.js';
import type { Severity } from './types.js';

// Everything of detection lives in the realm's own data set, beside the audit trail it reads:
// the cursor (how far the rules have read the chain), the rules' state (windows, counters,
// baselines), the alerts and the events each alert links to. So a restart loses no window,
// several PostgreSQL nodes share one state, a backup holds a tenant's alerts with its trail,
// and erasing a tenant erases its alerts.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('detection_cursor')} (id SMALLINT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL)`,
  `CREATE TABLE ${t('detection_state')} (rule TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (rule, key))`,
  `CREATE INDEX detection_state_updated ON ${t('detection_state')} (updated_at)`,
  `CREATE TABLE ${t('alerts')} (id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, state TEXT NOT NULL, count INTEGER NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL, acknowledged_by TEXT, acknowledged_at BIGINT, resolved_by TEXT, resolved_at BIGINT, note TEXT)`,
  `CREATE INDEX alerts_open ON ${t('alerts')} (rule, subject, state)`,
  `CREATE INDEX alerts_last ON ${t('alerts')} (last_at)`,
  `CREATE TABLE ${t('alert_events')} (alert_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (alert_id, seq))`,
  `CREATE TABLE ${t('alert_settings')} (id SMALLINT PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL)`,
];

// Where the rules start reading: a realm made from now on is read from its first event (a new
// tenant's first minutes are when a stolen setup link or a wrong key is used); a realm that
// already had a trail when this version came is read from its end at that moment, so an upgrade
// does not replay years of history into stale alerts.
const cursorAtHead = (t: (name: string) => string) => [`INSERT INTO ${t('detection_cursor')} (id, seq) SELECT 1, COALESCE((SELECT seq FROM ${t('audit_head')} WHERE id = 1), 0)`];

/** Applied to every realm's data set (each tenant's and the operators'), after the audit trail's. */
export const detectionMigrations: readonly Migration[] = [
  { id: 'detection/001-alerts', up: { sqlite: tables, postgres: tables } },
  { id: 'detection/002-cursor', up: { sqlite: cursorAtHead, postgres: cursorAtHead } },
];

export const alertStates = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof alertStates)[number];

export interface Alert {
  readonly id: string;
  /** The realm: a tenant id, or `operators` for platform alerts. */
  readonly realm: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  readonly subject: string;
  /** The newest finding's sentence (ids and counts only). */
  readonly summary: string;
  readonly state: AlertState;
  /** Findings joined into this alert. */
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly acknowledgedBy?: string;
  readonly acknowledgedAt?: number;
  readonly resolvedBy?: string;
  readonly resolvedAt?: number;
  /** The resolution note. */
  readonly note?: string;
}

interface AlertRow {
  id: string;
  rule: string;
  severity: string;
  title: string;
  subject: string;
  summary: string;
  state: string;
  count: number | string;
  first_at: number | string;
  last_at: number | string;
  acknowledged_by: string | null;
  acknowledged_at: number | string | null;
  resolved_by: string | null;
  resolved_at: number | string | null;
  note: string | null;
}

const alertColumns = 'id, rule, severity, title, subject, summary, state, count, first_at, last_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at, note';

function toAlert(realm: string, row: AlertRow): Alert {
  return {
    id: row.id,
    realm,
    rule: row.rule,
    severity: row.severity as Severity,
    title: row.title,
    subject: row.subject,
    summary: row.summary,
    state: row.state as AlertState,
    count: Number(row.count),
    firstAt: Number(row.first_at),
    lastAt: Number(row.last_at),
    ...(row.acknowledged_by === null ? {} : { acknowledgedBy: row.acknowledged_by, acknowledgedAt: Number(row.acknowledged_at) }),
    ...(row.resolved_by === null ? {} : { resolvedBy: row.resolved_by, resolvedAt: Number(row.resolved_at) }),
    ...(row.note === null ? {} : { note: row.note }),
  };
}

/** How far the rules have read the realm's chain; undefined before the engine's first look. */
export async function selectCursor(db: SqlExecutor): Promise<number | undefined> {
  const row = (await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('detection_cursor')} WHERE id = 1`))[0];
  return row === undefined ? undefined : Number(row.seq);
}

/**
 * Moves the cursor from `from` to `to`, only if it is still at `from`: false when another node
 * (or process) evaluated these events meanwhile — the caller's transaction then rolls back, so
 * each event is evaluated, and each alert raised, once.
 */
export async function moveCursor(tx: SqlExecutor, from: number | undefined, to: number): Promise<boolean> {
  const table = tx.table('detection_cursor');
  if (from === undefined) return (await tx.execute(`INSERT INTO ${table} (id, seq) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, [to])) === 1;
  return (await tx.execute(`UPDATE ${table} SET seq = ? WHERE id = 1 AND seq = ?`, [to, from])) === 1;
}

/** The stored states of one rule for these keys. */
export async function selectStates(db: SqlExecutor, rule: string, keys: readonly string[]): Promise<Map<string, unknown>> {
  const states = new Map<string, unknown>();
  for (let i = 0; i < keys.length; i += 200) {
    const part = keys.slice(i, i + 200);
    const rows = await db.query<{ key: string; state: string }>(`SELECT key, state FROM ${db.table('detection_state')} WHERE rule = ? AND key IN (${part.map(() => '?').join(', ')})`, [rule, ...part]);
    for (const row of rows) states.set(row.key, JSON.parse(row.state) as unknown);
  }
  return states;
}

export async function saveState(tx: SqlExecutor, rule: string, key: string, state: unknown, now: number): Promise<void> {
  const table = tx.table('detection_state');
  if (state === null || state === undefined) {
    await tx.execute(`DELETE FROM ${table} WHERE rule = ? AND key = ?`, [rule, key]);
    return;
  }
  await tx.execute(`INSERT INTO ${table} (rule, key, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (rule, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`, [rule, key, JSON.stringify(state), now]);
}

/** Drops state no event touched since `before` (windows long closed, baselines of principals gone). */
export async function pruneStates(db: SqlExecutor, before: number): Promise<number> {
  return db.execute(`DELETE FROM ${db.table('detection_state')} WHERE updated_at < ?`, [before]);
}

/**
 * The newest alert of the rule about the subject that is not resolved and saw a finding since
 * `since`, with how many events it links (in the same statement: one fewer per alert joined).
 */
export async function selectJoinable(tx: SqlExecutor, realm: string, rule: string, subject: string, since: number): Promise<{ alert: Alert; linked: number } | undefined> {
  const row = (
    await tx.query<AlertRow & { linked: number | string }>(
      `SELECT ${alertColumns}, (SELECT count(*) FROM ${tx.table('alert_events')} e WHERE e.alert_id = a.id) AS linked FROM ${tx.table('alerts')} a WHERE rule = ? AND subject = ? AND state <> 'resolved' AND last_at >= ? ORDER BY last_at DESC LIMIT 1`,
      [rule, subject, since],
    )
  )[0];
  return row === undefined ? undefined : { alert: toAlert(realm, row), linked: Number(row.linked) };
}

export async function insertAlert(tx: SqlExecutor, alert: Alert): Promise<void> {
  await tx.execute(`INSERT INTO ${tx.table('alerts')} (id, rule, severity, title, subject, summary, state, count, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    alert.id,
    alert.rule,
    alert.severity,
    alert.title,
    alert.subject,
    alert.summary,
    alert.state,
    alert.count,
    alert.firstAt,
    alert.lastAt,
  ]);
}

/** A finding joined an alert: one more, newer, possibly more severe. */
export async function joinAlert(tx: SqlExecutor, id: string, change: { severity: Severity; summary: string; count: number; at: number }): Promise<void> {
  await tx.execute(`UPDATE ${tx.table('alerts')} SET severity = ?, summary = ?, count = count + ?, last_at = ? WHERE id = ?`, [change.severity, change.summary, change.count, change.at, id]);
}

/** Evidence kept per alert; the count says how many findings there were in all. */
export const evidencePerAlert = 100;

/** Links events to an alert, up to `evidencePerAlert` in all; `have`: how many it links already, when the caller knows. */
export async function linkEvents(tx: SqlExecutor, alertId: string, seqs: readonly number[], have?: number): Promise<void> {
  if (seqs.length === 0) return;
  const table = tx.table('alert_events');
  const linked = have ?? Number((await tx.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${table} WHERE alert_id = ?`, [alertId]))[0]?.n ?? 0);
  for (const seq of seqs.slice(0, Math.max(0, evidencePerAlert - linked))) await tx.execute(`INSERT INTO ${table} (alert_id, seq) VALUES (?, ?) ON CONFLICT (alert_id, seq) DO NOTHING`, [alertId, seq]);
}

export async function selectEvidence(db: SqlExecutor, alertId: string): Promise<number[]> {
  const rows = await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('alert_events')} WHERE alert_id = ? ORDER BY seq`, [alertId]);
  return rows.map((row) => Number(row.seq));
}

export interface AlertFilter {
  readonly state?: AlertState;
  readonly severity?: Severity;
  readonly rule?: string;
  /** Alerts whose last finding is older than this (ms), for paging; newest first. */
  readonly before?: number;
  /** With `before`: also the alerts of exactly that time whose id sorts before this one (the last alert of the previous page), so ties at a page's edge are neither skipped nor repeated. */
  readonly beforeId?: string;
  readonly limit: number;
}

export async function selectAlerts(db: SqlExecutor, realm: string, filter: AlertFilter): Promise<Alert[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.state !== undefined) (where.push('state = ?'), params.push(filter.state));
  if (filter.severity !== undefined) (where.push('severity = ?'), params.push(filter.severity));
  if (filter.rule !== undefined) (where.push('rule = ?'), params.push(filter.rule));
  // Keyset paging on the order's own pair (last_at, id): on last_at alone, alerts sharing the last one's time would be skipped.
  if (filter.before !== undefined && filter.beforeId !== undefined) (where.push('(last_at < ? OR (last_at = ? AND id < ?))'), params.push(filter.before, filter.before, filter.beforeId));
  else if (filter.before !== undefined) (where.push('last_at < ?'), params.push(filter.before));
  const rows = await db.query<AlertRow>(`SELECT ${alertColumns} FROM ${db.table('alerts')}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY last_at DESC, id DESC LIMIT ?`, [...params, filter.limit]);
  return rows.map((row) => toAlert(realm, row));
}

export async function selectAlert(db: SqlExecutor, realm: string, id: string): Promise<Alert | undefined> {
  const row = (await db.query<AlertRow>(`SELECT ${alertColumns} FROM ${db.table('alerts')} WHERE id = ?`, [id]))[0];
  return row === undefined ? undefined : toAlert(realm, row);
}

/** Open alerts per severity (the console's counts). */
export async function countUnresolved(db: SqlExecutor): Promise<Record<Severity, number>> {
  const counts: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  const rows = await db.query<{ severity: string; n: number | string }>(`SELECT severity, count(*) AS n FROM ${db.table('alerts')} WHERE state <> 'resolved' GROUP BY severity`);
  for (const row of rows) if (row.severity in counts) counts[row.severity as Severity] = Number(row.n);
  return counts;
}

/** Acknowledges (from open) or resolves (from open or acknowledged); false when the alert was not in a state allowing it. */
export async function changeAlertState(tx: SqlExecutor, id: string, to: 'acknowledged' | 'resolved', by: string, at: number, note?: string): Promise<boolean> {
  const table = tx.table('alerts');
  if (to === 'acknowledged') return (await tx.execute(`UPDATE ${table} SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND state = 'open'`, [by, at, id])) === 1;
  return (await tx.execute(`UPDATE ${table} SET state = 'resolved', resolved_by = ?, resolved_at = ?, note = ? WHERE id = ? AND state <> 'resolved'`, [by, at, note ?? null, id])) === 1;
}

export async function selectSettings(db: SqlExecutor): Promise<unknown> {
  const row = (await db.query<{ settings: string }>(`SELECT settings FROM ${db.table('alert_settings')} WHERE id = 1`))[0];
  return row === undefined ? undefined : (JSON.parse(row.settings) as unknown);
}

export async function saveSettings(tx: SqlExecutor, settings: unknown): Promise<void> {
  await tx.execute(`INSERT INTO ${tx.table('alert_settings')} (id, settings) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings`, [JSON.stringify(settings)]);
}
