import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { canonicalText, chainHashOf, completeEvent, genesis, type AuditEvent, type AuditEventInput } from './events.js';

const columns = 'seq, at, action, outcome, status, actor_id, actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail, hash';
const columnCount = 16;
const chunk = 40;
// `(?, …, ?), …` for 1…chunk rows, built once.
const placeholders = Array.from({ length: chunk + 1 }, (_, n) => Array.from({ length: n }, () => `(${Array.from({ length: columnCount }, () => '?').join(', ')})`).join(', '));
const rowPlaceholders = (count: number) => placeholders[count] as string;

export interface StoredEvent extends AuditEvent {
  readonly hash: string;
}

export interface EventRow {
  seq: number | string;
  at: number | string;
  action: string;
  outcome: string;
  status: number;
  actor_id: string;
  actor_role: string;
  client: string;
  purpose: string;
  resources: string;
  subjects: string;
  classes: string;
  request_id: string;
  source_ip: string;
  detail: string;
  hash: string;
}

export function toEvent(tenantId: string, row: EventRow): StoredEvent {
  return {
    tenantId,
    seq: Number(row.seq),
    at: Number(row.at),
    action: row.action as AuditEvent['action'],
    outcome: row.outcome as AuditEvent['outcome'],
    status: Number(row.status),
    actor: { id: row.actor_id, role: row.actor_role, client: row.client },
    purpose: row.purpose as AuditEvent['purpose'],
    resources: JSON.parse(row.resources) as string[],
    subjects: JSON.parse(row.subjects) as string[],
    classes: JSON.parse(row.classes) as string[],
    requestId: row.request_id,
    sourceIp: row.source_ip,
    detail: row.detail,
    hash: row.hash,
  };
}

/** Pending events one INSERT carries (more take several, in one transaction). */
export const pendingPerStatement = 200;

/**
 * PostgreSQL writers: the change's events go into `audit_pending`, committed with the change,
 * without touching the chain's head. Holding the head's lock until commit would serialise every
 * write of the tenant behind one fsync at a time, and the waiting writers would hold pooled
 * connections that other tenants need. The chainer moves them onto the chain moments later.
 */
export async function insertPending(tx: SqlExecutor, inputs: readonly AuditEventInput[], at: number): Promise<void> {
  const table = tx.table('audit_pending');
  for (let start = 0; start < inputs.length; start += pendingPerStatement) {
    const part = inputs.slice(start, start + pendingPerStatement);
    await tx.execute(`INSERT INTO ${table} (at, event) VALUES ${part.map(() => '(?, ?)').join(', ')}`, part.flatMap((input) => [at, JSON.stringify(input)]));
  }
}

/**
 * Appends events to the tenant's chain inside the caller's transaction. The head row is locked
 * (PostgreSQL FOR UPDATE; SQLite's write lock), so concurrent appenders chain one after another.
 * With `pendingLimit`, committed pending events (PostgreSQL) go first, oldest first, up to that
 * many; `morePending` says whether some were left for the next append.
 */
export async function appendEvents(tx: SqlExecutor, tenantId: string, inputs: readonly AuditEventInput[], at: number, pendingLimit = 0): Promise<{ events: StoredEvent[]; morePending: boolean }> {
  const pulling = pendingLimit > 0 && tx.dialect === 'postgres';
  if (inputs.length === 0 && !pulling) return { events: [], morePending: false };
  const head = tx.table('audit_head');
  const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const selectHeadRow = () => tx.query<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${head} WHERE id = 1${lock}`);
  // Only committed rows are visible, and every chainer holds the head's lock: each pending event
  // is chained exactly once; one committed later waits for the next append. The DELETE is sent
  // with the lock's SELECT (pipelined) and runs after it has the lock: a session runs its
  // statements in order, and each statement sees what was committed when it started.
  const pendingTable = tx.table('audit_pending');
  const [heads, pulled] = await Promise.all([
    selectHeadRow(),
    pulling
      ? tx.query<{ id: number | string; at: number | string; event: string }>(`DELETE FROM ${pendingTable} WHERE id IN (SELECT id FROM ${pendingTable} ORDER BY id LIMIT ?) RETURNING id, at, event`, [pendingLimit])
      : Promise.resolve([]),
  ]);
  let row = heads[0];
  if (row === undefined) {
    // A new chain: no lock was held above, but each pending row still belongs to the one DELETE
    // that returned it, and is chained here once.
    await tx.execute(`INSERT INTO ${head} (id, seq, hash) VALUES (1, 0, ?) ON CONFLICT DO NOTHING`, [genesis(tenantId)]);
    row = (await selectHeadRow())[0] as { seq: number; hash: string };
  }
  let timed = inputs.map((input) => ({ input, at }));
  let morePending = false;
  if (pulling) {
    morePending = pulled.length === pendingLimit;
    pulled.sort((a, b) => Number(a.id) - Number(b.id));
    timed = [...pulled.map((p) => ({ input: completeEvent(JSON.parse(p.event) as AuditEventInput), at: Number(p.at) })), ...timed];
    if (timed.length === 0) return { events: [], morePending };
  }
  let seq = Number(row.seq);
  let hash = row.hash;
  // Each array is JSON-encoded once: the stored column and the canonical form share the text
  // (canonicalText, the same bytes as canonical(event)), and every row's values go straight into
  // the statement's parameters.
  const events: StoredEvent[] = [];
  const params: Array<string | number> = [];
  for (const { input, at: when } of timed) {
    seq += 1;
    const resources = JSON.stringify(input.resources);
    const subjects = JSON.stringify(input.subjects);
    const classes = JSON.stringify(input.classes);
    const { actor } = input;
    hash = chainHashOf(hash, canonicalText(seq, when, tenantId, input.action, input.outcome, input.status, actor.id, actor.role, actor.client, input.purpose, resources, subjects, classes, input.requestId, input.sourceIp, input.detail));
    events.push({ ...input, tenantId, seq, at: when, hash });
    params.push(seq, when, input.action, input.outcome, input.status, actor.id, actor.role, actor.client, input.purpose, resources, subjects, classes, input.requestId, input.sourceIp, input.detail, hash);
  }
  // The rows, the patient index and the new head are independent statements: sent together
  // (one round trip on PostgreSQL), committed together.
  const writes: Array<Promise<number>> = [];
  const table = tx.table('audit_events');
  for (let start = 0; start < events.length; start += chunk) {
    const count = Math.min(chunk, events.length - start);
    writes.push(tx.execute(`INSERT INTO ${table} (${columns}) VALUES ${rowPlaceholders(count)}`, params.slice(start * columnCount, (start + count) * columnCount)));
  }
  const bySubject = events.flatMap((e) => [...new Set(e.subjects)].map((subject) => [subject, e.seq] as const));
  for (let start = 0; start < bySubject.length; start += 200) {
    const part = bySubject.slice(start, start + 200);
    writes.push(tx.execute(`INSERT INTO ${tx.table('audit_subjects')} (subject, seq) VALUES ${part.map(() => '(?, ?)').join(', ')}`, part.flat()));
  }
  writes.push(tx.execute(`UPDATE ${head} SET seq = ?, hash = ? WHERE id = 1`, [seq, hash]));
  await Promise.all(writes);
  return { events, morePending };
}

/** Whether committed events wait in `audit_pending` (PostgreSQL; SQLite chains in the writer's transaction). */
export async function hasPending(db: SqlExecutor): Promise<boolean> {
  if (db.dialect !== 'postgres') return false;
  return (await db.query(`SELECT 1 FROM ${db.table('audit_pending')} LIMIT 1`)).length > 0;
}

export async function selectEventsAfter(db: SqlExecutor, tenantId: string, after: number, limit: number): Promise<StoredEvent[]> {
  const rows = await db.query<EventRow>(`SELECT ${columns} FROM ${db.table('audit_events')} WHERE seq > ? ORDER BY seq LIMIT ?`, [after, limit]);
  return rows.map((row) => toEvent(tenantId, row));
}

// What the detection rules read: every field of the event but its hash, the three lists parsed
// only when a rule asks for them (most rules look at one of them, or none; parsing the three
// for every event was a tenth of the engine's time).
const evaluatedColumns = 'seq, at, action, outcome, status, actor_id, actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail';

/** A list column as `JSON.stringify` wrote it; without escapes (ids, codes) it is split, not parsed. */
export function parseList(text: string): readonly string[] {
  if (text === '[]') return [];
  if (text.length >= 4 && text.startsWith('["') && text.endsWith('"]') && !text.includes('\\')) {
    const items = text.slice(2, -2).split('","');
    // No escapes: every quote is a delimiter, so a piece holding one means another layout (spaces,
    // non-strings), which JSON.parse then reads as it is.
    if (items.every((item) => !item.includes('"'))) return items;
  }
  return JSON.parse(text) as string[];
}

class EvaluatedEvent implements AuditEvent {
  readonly tenantId: string;
  readonly seq: number;
  readonly at: number;
  readonly action: AuditEvent['action'];
  readonly outcome: AuditEvent['outcome'];
  readonly status: number;
  readonly actor: AuditEvent['actor'];
  readonly purpose: AuditEvent['purpose'];
  readonly requestId: string;
  readonly sourceIp: string;
  readonly detail: string;
  #resources: string | readonly string[];
  #subjects: string | readonly string[];
  #classes: string | readonly string[];

  /** `values`: the columns of `evaluatedColumns`, in that order. */
  constructor(tenantId: string, values: readonly unknown[]) {
    this.tenantId = tenantId;
    this.seq = Number(values[0]);
    this.at = Number(values[1]);
    this.action = values[2] as AuditEvent['action'];
    this.outcome = values[3] as AuditEvent['outcome'];
    this.status = Number(values[4]);
    this.actor = { id: values[5] as string, role: values[6] as string, client: values[7] as string };
    this.purpose = values[8] as AuditEvent['purpose'];
    this.#resources = values[9] as string;
    this.#subjects = values[10] as string;
    this.#classes = values[11] as string;
    this.requestId = values[12] as string;
    this.sourceIp = values[13] as string;
    this.detail = values[14] as string;
  }

  get resources(): readonly string[] {
    if (typeof this.#resources === 'string') this.#resources = parseList(this.#resources);
    return this.#resources;
  }

  get subjects(): readonly string[] {
    if (typeof this.#subjects === 'string') this.#subjects = parseList(this.#subjects);
    return this.#subjects;
  }

  get classes(): readonly string[] {
    if (typeof this.#classes === 'string') this.#classes = parseList(this.#classes);
    return this.#classes;
  }
}

/**
 * The events after `after` for the detection engine: each an `AuditEvent` (no hash: the rules
 * do not verify the chain, `audit verify` does), its lists parsed on first use — read its
 * fields; it is not a plain object (a spread or JSON.stringify of it leaves the lists out).
 */
export async function selectEventsToEvaluate(db: SqlExecutor, tenantId: string, after: number, limit: number): Promise<AuditEvent[]> {
  const sql = `SELECT ${evaluatedColumns} FROM ${db.table('audit_events')} WHERE seq > ? ORDER BY seq LIMIT ?`;
  if (db.queryArrays !== undefined) return (await db.queryArrays(sql, [after, limit])).map((values) => new EvaluatedEvent(tenantId, values));
  const rows = await db.query<EventRow>(sql, [after, limit]);
  return rows.map((r) => new EvaluatedEvent(tenantId, [r.seq, r.at, r.action, r.outcome, r.status, r.actor_id, r.actor_role, r.client, r.purpose, r.resources, r.subjects, r.classes, r.request_id, r.source_ip, r.detail]));
}

/** The events with these sequence numbers (an alert's evidence), oldest first; pruned ones are simply absent. */
export async function selectEventsBySeq(db: SqlExecutor, tenantId: string, seqs: readonly number[]): Promise<StoredEvent[]> {
  const found: StoredEvent[] = [];
  for (let i = 0; i < seqs.length; i += 200) {
    const part = seqs.slice(i, i + 200);
    const rows = await db.query<EventRow>(`SELECT ${columns} FROM ${db.table('audit_events')} WHERE seq IN (${part.map(() => '?').join(', ')}) ORDER BY seq`, part);
    found.push(...rows.map((row) => toEvent(tenantId, row)));
  }
  return found.sort((a, b) => a.seq - b.seq);
}

export async function selectHead(db: SqlExecutor): Promise<{ seq: number; hash: string } | undefined> {
  const row = (await db.query<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${db.table('audit_head')} WHERE id = 1`))[0];
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

export interface EventFilter {
  /** Inclusive bounds, ms since the epoch. */
  readonly from?: number;
  readonly to?: number;
  readonly actor?: string;
  /** `Patient/<id>`: events that concern this patient. */
  readonly patient?: string;
  readonly actions?: readonly string[];
  readonly outcome?: 'success' | 'failure';
  /** Paging: only events older than this seq (newest first). */
  readonly before?: number;
  readonly count: number;
}

/** Newest first; parameterised SQL only (the filter values come from the caller). */
export async function selectEvents(db: SqlExecutor, tenantId: string, filter: EventFilter): Promise<StoredEvent[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const events = db.table('audit_events');
  if (filter.patient !== undefined) {
    where.push(`e.seq IN (SELECT seq FROM ${db.table('audit_subjects')} WHERE subject = ?)`);
    params.push(filter.patient);
  }
  const conditions: Array<[string, string | number | undefined]> = [
    ['e.at >= ?', filter.from],
    ['e.at <= ?', filter.to],
    ['e.actor_id = ?', filter.actor],
    ['e.outcome = ?', filter.outcome],
    ['e.seq < ?', filter.before],
  ];
  for (const [condition, value] of conditions) {
    if (value === undefined) continue;
    where.push(condition);
    params.push(value);
  }
  if (filter.actions !== undefined && filter.actions.length > 0) {
    where.push(`e.action IN (${filter.actions.map(() => '?').join(', ')})`);
    params.push(...filter.actions);
  }
  const rows = await db.query<EventRow>(
    `SELECT ${columns.split(', ').map((c) => `e.${c}`).join(', ')} FROM ${events} e${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY e.seq DESC LIMIT ?`,
    [...params, filter.count],
  );
  return rows.map((row) => toEvent(tenantId, row));
}

export async function selectShipped(db: SqlExecutor, sink: string): Promise<number> {
  const row = (await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('audit_shipped')} WHERE sink = ?`, [sink]))[0];
  return row === undefined ? 0 : Number(row.seq);
}

/** Moves a sink's cursor forward (never back: another node may have shipped further). */
export async function saveShipped(db: SqlExecutor, sink: string, seq: number): Promise<void> {
  const table = db.table('audit_shipped');
  await db.execute(`INSERT INTO ${table} (sink, seq) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq WHERE ${table}.seq < excluded.seq`, [sink, seq]);
}

/**
 * `canonical(toEvent(row))`, built from the stored column text without parsing it: the array
 * columns hold exactly `JSON.stringify` of their arrays, which is how they appear in the
 * canonical form. Anything else stored there no longer matches its hash, as it should not.
 */
export function canonicalOfRow(tenantId: string, row: EventRow, seq: number): string {
  return canonicalText(seq, Number(row.at), tenantId, row.action, row.outcome, Number(row.status), row.actor_id, row.actor_role, row.client, row.purpose, row.resources, row.subjects, row.classes, row.request_id, row.source_ip, row.detail);
}

/** Full rows with `from ≤ seq ≤ to`, in order, at most `limit` (verify's second pass). */
export async function selectRowsBetween(db: SqlExecutor, from: number, to: number, limit: number): Promise<EventRow[]> {
  return db.query<EventRow>(`SELECT ${columns} FROM ${db.table('audit_events')} WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`, [from, to, limit]);
}

/** One event as verify's fast pass reads it: number, canonical text rendered by the database, stored hash. */
export interface LinkRow {
  seq: number | string;
  text: string;
  hash: string;
}

// SQLite renders the canonical text of `canonicalOfRow` itself, so a scan moves three short
// columns instead of sixteen (2–3× faster): strings JSON-quoted by json_quote, which escapes
// exactly as JSON.stringify does for what Tresor stores, the array columns embedded as stored.
// Where it would render a value differently (a number stored as text, say), the row merely
// fails the fast check and verify re-checks it from its columns: never a false finding, and a
// row that passes holds exactly the values that were hashed (JSON quoting is injective).
// json_quote is compiled into the SQLite library this process loads, out of reach of whoever
// edits the file. PostgreSQL's functions are not: a superuser, the very person the chain must
// hold to account, can redefine them, so PostgreSQL rows are rendered here from their columns.
const sqliteLinkText = (() => {
  const quote = (x: string) => `json_quote(${x})`;
  const parts = [
    'seq',
    'at',
    quote('CAST(? AS TEXT)'),
    ...['action', 'outcome'].map(quote),
    'status',
    ...['actor_id', 'actor_role', 'client', 'purpose'].map(quote),
    'resources',
    'subjects',
    'classes',
    ...['request_id', 'source_ip', 'detail'].map(quote),
  ];
  return `'[' || ${parts.join(" || ',' || ")} || ']'`;
})();

export async function selectLinksAfter(db: SqlExecutor, tenantId: string, after: number, limit: number): Promise<LinkRow[]> {
  const table = db.table('audit_events');
  if (db.dialect === 'sqlite') return db.query<LinkRow>(`SELECT seq, ${sqliteLinkText} AS text, hash FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`, [tenantId, after, limit]);
  const rows = await db.query<EventRow>(`SELECT ${columns} FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`, [after, limit]);
  return rows.map((row) => ({ seq: row.seq, text: canonicalOfRow(tenantId, row, Number(row.seq)), hash: row.hash }));
}

/**
 * Where a retention prune may cut, after the current cut `from`: the last event of the leading
 * run older than `cutoff`, and no further than any SIEM sink has received. Undefined: nothing to cut.
 */
export async function selectRetentionCut(db: SqlExecutor, from: number, cutoff: number): Promise<{ seq: number; hash: string } | undefined> {
  const table = db.table('audit_events');
  const kept = (await db.query<{ seq: number | string }>(`SELECT seq FROM ${table} WHERE seq > ? AND at >= ? ORDER BY seq LIMIT 1`, [from, cutoff]))[0];
  let last = kept === undefined ? ((await selectHead(db))?.seq ?? 0) : Number(kept.seq) - 1;
  const shipped = (await db.query<{ seq: number | string | null }>(`SELECT MIN(seq) AS seq FROM ${db.table('audit_shipped')}`))[0]?.seq;
  if (shipped !== null && shipped !== undefined) last = Math.min(last, Number(shipped));
  if (last <= from) return undefined;
  const row = (await db.query<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${table} WHERE seq = ?`, [last]))[0];
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

/** Deletes events 1…`through` and their patient index rows, a few thousand per transaction. */
export async function deleteThrough(db: SqlDatabase, through: number): Promise<number> {
  const events = db.table('audit_events');
  const subjects = db.table('audit_subjects');
  let deleted = 0;
  for (;;) {
    const count = await db.transaction(async (tx) => {
      const batch = await tx.query<{ seq: number | string; subjects: string }>(`SELECT seq, subjects FROM ${events} WHERE seq <= ? ORDER BY seq LIMIT 2000`, [through]);
      const last = batch[batch.length - 1];
      if (last === undefined) return 0;
      // By primary key (subject, seq), as appendEvents wrote them: no scan of the index table.
      const pairs = batch.flatMap((row) => [...new Set(JSON.parse(row.subjects) as string[])].map((subject) => [subject, Number(row.seq)] as const));
      for (let start = 0; start < pairs.length; start += 400) {
        const part = pairs.slice(start, start + 400);
        await tx.execute(`DELETE FROM ${subjects} WHERE (subject, seq) IN (VALUES ${part.map(() => '(?, CAST(? AS BIGINT))').join(', ')})`, part.flat());
      }
      return tx.execute(`DELETE FROM ${events} WHERE seq <= ?`, [Number(last.seq)]);
    });
    if (count === 0) return deleted;
    deleted += count;
  }
}

/** Events per PurposeOfUse code since `since` (ms): what records of processing report as the purposes seen. */
export async function countPurposesSince(db: SqlExecutor, since: number): Promise<Record<string, number>> {
  const rows = await db.query<{ purpose: string; n: number | string }>(`SELECT purpose, COUNT(*) AS n FROM ${db.table('audit_events')} WHERE at >= ? GROUP BY purpose`, [since]);
  return Object.fromEntries(rows.map((r) => [r.purpose, Number(r.n)]));
}
