import type { SqlExecutor } from '../platform/db/index.js';

// The only file touching the alert-delivery tables (webhook-migrations.ts).

export interface EndpointRow {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly secretSealed: Uint8Array;
  readonly createdBy: string;
  readonly createdAt: number;
}

export const deliveryStates = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof deliveryStates)[number];

export interface DeliveryRow {
  readonly id: string;
  readonly target: string;
  readonly alertId: string;
  readonly version: string;
  readonly kind: string;
  readonly payload: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAt: number;
  readonly createdAt: number;
  readonly doneAt?: number;
}

export interface AttemptRow {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly at: number;
  /** The receiver's HTTP status; absent when no answer came (see `error`). */
  readonly status?: number;
  /** A short code: `timeout`, `refused-address`, `connection`, `http-status`, `redirect`, `tls`. */
  readonly error?: string;
  readonly durationMs: number;
}

type Num = number | string;
const n = (value: Num | null | undefined) => (value === null || value === undefined ? undefined : Number(value));

export async function insertEndpoint(tx: SqlExecutor, e: EndpointRow): Promise<void> {
  await tx.execute(`INSERT INTO ${tx.table('webhook_endpoints')} (id, url, description, secret_sealed, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`, [e.id, e.url, e.description, e.secretSealed, e.createdBy, e.createdAt]);
}

export async function selectEndpoints(db: SqlExecutor): Promise<EndpointRow[]> {
  const rows = await db.query<{ id: string; url: string; description: string; secret_sealed: Uint8Array; created_by: string; created_at: Num }>(`SELECT id, url, description, secret_sealed, created_by, created_at FROM ${db.table('webhook_endpoints')} ORDER BY created_at, id`);
  return rows.map((r) => ({ id: r.id, url: r.url, description: r.description, secretSealed: r.secret_sealed, createdBy: r.created_by, createdAt: Number(r.created_at) }));
}

/** Removes the endpoint with its queue and log. */
export async function deleteEndpoint(tx: SqlExecutor, id: string): Promise<boolean> {
  const removed = await tx.execute(`DELETE FROM ${tx.table('webhook_endpoints')} WHERE id = ?`, [id]);
  await tx.execute(`DELETE FROM ${tx.table('alert_deliveries')} WHERE target = ?`, [id]);
  await tx.execute(`DELETE FROM ${tx.table('alert_delivery_attempts')} WHERE target = ?`, [id]);
  return removed === 1;
}

/** Queues one change for one target; false when that version was queued before (it is one delivery). */
export async function enqueueDelivery(db: SqlExecutor, d: Pick<DeliveryRow, 'id' | 'target' | 'alertId' | 'version' | 'kind' | 'payload' | 'createdAt'>): Promise<boolean> {
  const added = await db.execute(
    `INSERT INTO ${db.table('alert_deliveries')} (id, target, alert_id, version, kind, payload, state, attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (target, alert_id, version) DO NOTHING`,
    [d.id, d.target, d.alertId, d.version, d.kind, d.payload, d.createdAt, d.createdAt],
  );
  return added === 1;
}

interface DeliveryDbRow {
  id: string;
  target: string;
  alert_id: string;
  version: string;
  kind: string;
  payload: string;
  state: string;
  attempts: Num;
  next_at: Num;
  created_at: Num;
  done_at: Num | null;
}
const deliveryColumns = 'id, target, alert_id, version, kind, payload, state, attempts, next_at, created_at, done_at';
const toDelivery = (r: DeliveryDbRow): DeliveryRow => {
  const doneAt = n(r.done_at);
  return { id: r.id, target: r.target, alertId: r.alert_id, version: r.version, kind: r.kind, payload: r.payload, state: r.state as DeliveryState, attempts: Number(r.attempts), nextAt: Number(r.next_at), createdAt: Number(r.created_at), ...(doneAt === undefined ? {} : { doneAt }) };
};

/** Pending deliveries due by `now`, oldest change first (per target, in the order they happened). */
export async function selectDue(db: SqlExecutor, now: number, limit: number): Promise<DeliveryRow[]> {
  const rows = await db.query<DeliveryDbRow>(`SELECT ${deliveryColumns} FROM ${db.table('alert_deliveries')} WHERE state = 'pending' AND next_at <= ? ORDER BY created_at, id LIMIT ?`, [now, limit]);
  return rows.map(toDelivery);
}

/**
 * Takes a due delivery for one attempt: moves its next time to `leaseUntil` only if nobody else
 * did meanwhile (another process of the deployment), so each attempt is made once.
 */
export async function claimDelivery(db: SqlExecutor, d: DeliveryRow, leaseUntil: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('alert_deliveries')} SET next_at = ? WHERE id = ? AND state = 'pending' AND next_at = ? AND attempts = ? AND version = ?`, [leaseUntil, d.id, d.nextAt, d.attempts, d.version])) === 1;
}

/** The target's delivery of a new alert or a finding about it that no attempt has taken yet (it can take a newer finding instead). */
export async function selectWaiting(db: SqlExecutor, target: string, alertId: string, now: number): Promise<DeliveryRow | undefined> {
  const row = (await db.query<DeliveryDbRow>(`SELECT ${deliveryColumns} FROM ${db.table('alert_deliveries')} WHERE target = ? AND alert_id = ? AND state = 'pending' AND attempts = 0 AND next_at <= ? AND kind IN ('raised', 'joined', 'escalated') ORDER BY created_at DESC LIMIT 1`, [target, alertId, now]))[0];
  return row === undefined ? undefined : toDelivery(row);
}

/**
 * Makes a waiting delivery carry a newer version instead, only if it is still as read (no
 * attempt claimed it meanwhile: a claim moves `next_at` past now and checks the version).
 * False when it was taken, or when that version is queued already.
 */
export async function replaceWaiting(db: SqlExecutor, d: DeliveryRow, next: { version: string; kind: string; payload: string }, now: number): Promise<boolean> {
  try {
    return (await db.execute(`UPDATE ${db.table('alert_deliveries')} SET version = ?, kind = ?, payload = ? WHERE id = ? AND version = ? AND state = 'pending' AND attempts = 0 AND next_at <= ?`, [next.version, next.kind, next.payload, d.id, d.version, now])) === 1;
  } catch {
    // The unique (target, alert, version): the scan queued this version at the same moment.
    return false;
  }
}

/** Records an attempt and the delivery's next state, in one transaction. */
export async function recordAttempt(tx: SqlExecutor, d: DeliveryRow, attempt: AttemptRow, next: { state: DeliveryState; nextAt: number }): Promise<void> {
  await tx.execute(`INSERT INTO ${tx.table('alert_delivery_attempts')} (delivery_id, target, attempt, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, attempt) DO NOTHING`, [
    d.id,
    d.target,
    attempt.attempt,
    attempt.at,
    attempt.status ?? null,
    attempt.error ?? null,
    attempt.durationMs,
  ]);
  await tx.execute(`UPDATE ${tx.table('alert_deliveries')} SET attempts = ?, state = ?, next_at = ?, done_at = ? WHERE id = ?`, [attempt.attempt, next.state, next.nextAt, next.state === 'pending' ? null : attempt.at, d.id]);
}

/** A target's deliveries, newest first, with their attempts. */
export async function selectDeliveries(db: SqlExecutor, target: string, limit: number): Promise<Array<DeliveryRow & { attemptLog: AttemptRow[] }>> {
  const rows = (await db.query<DeliveryDbRow>(`SELECT ${deliveryColumns} FROM ${db.table('alert_deliveries')} WHERE target = ? ORDER BY created_at DESC, id DESC LIMIT ?`, [target, limit])).map(toDelivery);
  if (rows.length === 0) return [];
  const attempts = await db.query<{ delivery_id: string; attempt: Num; at: Num; status: Num | null; error: string | null; duration_ms: Num }>(
    `SELECT delivery_id, attempt, at, status, error, duration_ms FROM ${db.table('alert_delivery_attempts')} WHERE delivery_id IN (${rows.map(() => '?').join(', ')}) ORDER BY attempt`,
    rows.map((r) => r.id),
  );
  return rows.map((d) => ({
    ...d,
    attemptLog: attempts
      .filter((a) => a.delivery_id === d.id)
      .map((a) => {
        const status = n(a.status);
        return { deliveryId: a.delivery_id, attempt: Number(a.attempt), at: Number(a.at), ...(status === undefined ? {} : { status }), ...(a.error === null ? {} : { error: a.error }), durationMs: Number(a.duration_ms) };
      }),
  }));
}

/** Deliveries done before `before` leave with their attempts (the log's retention). */
export async function pruneDeliveries(db: SqlExecutor, before: number): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('alert_delivery_attempts')} WHERE delivery_id IN (SELECT id FROM ${db.table('alert_deliveries')} WHERE state <> 'pending' AND done_at < ?)`, [before]);
  await db.execute(`DELETE FROM ${db.table('alert_deliveries')} WHERE state <> 'pending' AND done_at < ?`, [before]);
}

/** When the target's scan for missed changes starts: set the first time it is asked. */
export async function targetSince(db: SqlExecutor, target: string, now: number): Promise<number> {
  const table = db.table('alert_delivery_targets');
  const read = async () => (await db.query<{ since: Num }>(`SELECT since FROM ${table} WHERE target = ?`, [target]))[0];
  const found = await read();
  if (found !== undefined) return Number(found.since);
  await db.execute(`INSERT INTO ${table} (target, since) VALUES (?, ?) ON CONFLICT (target) DO NOTHING`, [target, now]);
  return Number((await read())?.since ?? now);
}

/** Ids of alerts whose last change (a finding, an acknowledgement, a resolution) was at or after `since`. */
export async function selectAlertIdsChangedSince(db: SqlExecutor, since: number, limit: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM ${db.table('alerts')} WHERE last_at >= ? OR acknowledged_at >= ? OR resolved_at >= ? ORDER BY last_at, id LIMIT ?`,
    [since, since, since, limit],
  );
  return rows.map((r) => r.id);
}

/** Whether a delivery of the realm is still to be attempted (now or later). */
export async function hasPendingDeliveries(db: SqlExecutor): Promise<boolean> {
  return (await db.query(`SELECT 1 AS one FROM ${db.table('alert_deliveries')} WHERE state = 'pending' LIMIT 1`)).length > 0;
}

