import type { Severity } from '../detection/index.js';
import type { SqlExecutor, SqlValue } from '../platform/db/index.js';
import type { IncidentState } from './states.js';
import type { Delivery, EntryKind, Incident, LinkedAlert, Task, TimelineEntry, Visibility } from './types.js';

interface IncidentRow {
  id: string;
  title: string;
  severity: string;
  state: string;
  owner_realm: string;
  owner_id: string;
  opened_by: string;
  opened_at: number | string;
  aware_at: number | string;
  updated_at: number | string;
  closed_at: number | string | null;
  published: number | string;
}

const columns = 'id, title, severity, state, owner_realm, owner_id, opened_by, opened_at, aware_at, updated_at, closed_at, published';
const optional = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value));

async function tenantsOf(db: SqlExecutor, ids: readonly string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return map;
  const rows = await db.query<{ incident_id: string; tenant_id: string }>(
    `SELECT incident_id, tenant_id FROM ${db.table('incident_tenants')} WHERE incident_id IN (${ids.map(() => '?').join(', ')}) ORDER BY tenant_id`,
    ids,
  );
  for (const row of rows) map.get(row.incident_id)?.push(row.tenant_id);
  return map;
}

const toIncident = (row: IncidentRow, tenants: readonly string[]): Incident => ({
  id: row.id,
  title: row.title,
  severity: row.severity as Severity,
  state: row.state as IncidentState,
  owner: { realm: row.owner_realm, accountId: row.owner_id },
  openedBy: row.opened_by,
  openedAt: Number(row.opened_at),
  awareAt: Number(row.aware_at),
  updatedAt: Number(row.updated_at),
  closedAt: optional(row.closed_at),
  published: Number(row.published) === 1,
  tenants,
});

export async function insertIncident(db: SqlExecutor, incident: Incident): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('incidents')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    incident.id,
    incident.title,
    incident.severity,
    incident.state,
    incident.owner.realm,
    incident.owner.accountId,
    incident.openedBy,
    incident.openedAt,
    incident.awareAt,
    incident.updatedAt,
    incident.closedAt ?? null,
    incident.published ? 1 : 0,
  ]);
  await replaceTenants(db, incident.id, incident.tenants);
}

export async function replaceTenants(db: SqlExecutor, id: string, tenants: readonly string[]): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('incident_tenants')} WHERE incident_id = ?`, [id]);
  for (const tenant of tenants) await db.execute(`INSERT INTO ${db.table('incident_tenants')} (incident_id, tenant_id) VALUES (?, ?)`, [id, tenant]);
}

/** Writes the incident's own fields as given (its tenants are `replaceTenants`'). */
export async function updateIncident(db: SqlExecutor, incident: Incident): Promise<void> {
  await db.execute(
    `UPDATE ${db.table('incidents')} SET title = ?, severity = ?, state = ?, owner_realm = ?, owner_id = ?, aware_at = ?, updated_at = ?, closed_at = ?, published = ? WHERE id = ?`,
    [incident.title, incident.severity, incident.state, incident.owner.realm, incident.owner.accountId, incident.awareAt, incident.updatedAt, incident.closedAt ?? null, incident.published ? 1 : 0, incident.id],
  );
}

export async function selectIncident(db: SqlExecutor, id: string): Promise<Incident | undefined> {
  const row = (await db.query<IncidentRow>(`SELECT ${columns} FROM ${db.table('incidents')} WHERE id = ?`, [id]))[0];
  if (row === undefined) return undefined;
  return toIncident(row, (await tenantsOf(db, [id])).get(id) ?? []);
}

export interface IncidentFilter {
  /** Only incidents affecting this tenant. */
  readonly tenant?: string;
  readonly state?: IncidentState;
  /** `open`: every state but closed. */
  readonly open?: boolean;
  readonly severity?: Severity;
  /** The last incident of the previous page (newest first): keyset paging on (opened_at, id). */
  readonly after?: { readonly at: number; readonly id: string };
  readonly limit: number;
}

export async function selectIncidents(db: SqlExecutor, filter: IncidentFilter): Promise<Incident[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.tenant !== undefined) (where.push(`id IN (SELECT incident_id FROM ${db.table('incident_tenants')} WHERE tenant_id = ?)`), params.push(filter.tenant));
  if (filter.state !== undefined) (where.push('state = ?'), params.push(filter.state));
  if (filter.open === true) where.push("state <> 'closed'");
  if (filter.severity !== undefined) (where.push('severity = ?'), params.push(filter.severity));
  if (filter.after !== undefined) (where.push('(opened_at < ? OR (opened_at = ? AND id < ?))'), params.push(filter.after.at, filter.after.at, filter.after.id));
  const rows = await db.query<IncidentRow>(
    `SELECT ${columns} FROM ${db.table('incidents')}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY opened_at DESC, id DESC LIMIT ?`,
    [...params, filter.limit],
  );
  const tenants = await tenantsOf(db, rows.map((r) => r.id));
  return rows.map((row) => toIncident(row, tenants.get(row.id) ?? []));
}

/** Appends to the timeline; its sequence number. A row lock on the incident orders concurrent appends (PostgreSQL), SQLite has one writer. */
export async function appendEntry(db: SqlExecutor, incidentId: string, entry: Omit<TimelineEntry, 'seq'>): Promise<number> {
  const [row] = await db.query<{ next_seq: number | string }>(`UPDATE ${db.table('incidents')} SET next_seq = next_seq + 1 WHERE id = ? RETURNING next_seq`, [incidentId]);
  if (row === undefined) throw new TypeError(`appendEntry: no incident ${incidentId}`);
  const seq = Number(row.next_seq) - 1;
  await db.execute(`INSERT INTO ${db.table('incident_timeline')} (incident_id, seq, kind, at, by_actor, visible_to, text, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
    incidentId,
    seq,
    entry.kind,
    entry.at,
    entry.by,
    entry.visibleTo,
    entry.text,
    JSON.stringify(entry.data),
  ]);
  return seq;
}

export async function selectTimeline(db: SqlExecutor, incidentId: string): Promise<TimelineEntry[]> {
  const rows = await db.query<{ seq: number | string; kind: string; at: number | string; by_actor: string; visible_to: string; text: string; data: string }>(
    `SELECT seq, kind, at, by_actor, visible_to, text, data FROM ${db.table('incident_timeline')} WHERE incident_id = ? ORDER BY seq`,
    [incidentId],
  );
  return rows.map((r) => ({ seq: Number(r.seq), kind: r.kind as EntryKind, at: Number(r.at), by: r.by_actor, visibleTo: r.visible_to as Visibility, text: r.text, data: JSON.parse(r.data) as Record<string, unknown> }));
}

export async function insertAlertLink(db: SqlExecutor, incidentId: string, alert: LinkedAlert): Promise<boolean> {
  const changed = await db.execute(
    `INSERT INTO ${db.table('incident_alerts')} (incident_id, realm, alert_id, rule, severity, title, subject, summary, state, count, first_at, last_at, linked_at, linked_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, realm, alert_id) DO NOTHING`,
    [incidentId, alert.realm, alert.alertId, alert.rule, alert.severity, alert.title, alert.subject, alert.summary, alert.state, alert.count, alert.firstAt, alert.lastAt, alert.linkedAt, alert.linkedBy],
  );
  return changed === 1;
}

export async function selectAlertLinks(db: SqlExecutor, incidentId: string): Promise<LinkedAlert[]> {
  const rows = await db.query<Record<string, string | number>>(
    `SELECT realm, alert_id, rule, severity, title, subject, summary, state, count, first_at, last_at, linked_at, linked_by FROM ${db.table('incident_alerts')} WHERE incident_id = ? ORDER BY linked_at, realm, alert_id`,
    [incidentId],
  );
  return rows.map((r) => ({
    realm: String(r['realm']),
    alertId: String(r['alert_id']),
    rule: String(r['rule']),
    severity: String(r['severity']) as Severity,
    title: String(r['title']),
    subject: String(r['subject']),
    summary: String(r['summary']),
    state: String(r['state']),
    count: Number(r['count']),
    firstAt: Number(r['first_at']),
    lastAt: Number(r['last_at']),
    linkedAt: Number(r['linked_at']),
    linkedBy: String(r['linked_by']),
  }));
}

interface TaskRow {
  id: string;
  title: string;
  assignee: string | null;
  due_at: number | string | null;
  visible_to: string;
  created_at: number | string;
  created_by: string;
  done_at: number | string | null;
  done_by: string | null;
}

const toTask = (r: TaskRow): Task => ({
  id: r.id,
  title: r.title,
  assignee: r.assignee ?? undefined,
  dueAt: optional(r.due_at),
  visibleTo: r.visible_to as Visibility,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  doneAt: optional(r.done_at),
  doneBy: r.done_by ?? undefined,
});

export async function insertTask(db: SqlExecutor, incidentId: string, task: Task): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('incident_tasks')} (incident_id, id, title, assignee, due_at, visible_to, created_at, created_by, done_at, done_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    incidentId,
    task.id,
    task.title,
    task.assignee ?? null,
    task.dueAt ?? null,
    task.visibleTo,
    task.createdAt,
    task.createdBy,
    task.doneAt ?? null,
    task.doneBy ?? null,
  ]);
}

export async function updateTask(db: SqlExecutor, incidentId: string, task: Task): Promise<void> {
  await db.execute(`UPDATE ${db.table('incident_tasks')} SET title = ?, assignee = ?, due_at = ?, done_at = ?, done_by = ? WHERE incident_id = ? AND id = ?`, [
    task.title,
    task.assignee ?? null,
    task.dueAt ?? null,
    task.doneAt ?? null,
    task.doneBy ?? null,
    incidentId,
    task.id,
  ]);
}

export async function selectTasks(db: SqlExecutor, incidentId: string): Promise<Task[]> {
  const rows = await db.query<TaskRow>(`SELECT id, title, assignee, due_at, visible_to, created_at, created_by, done_at, done_by FROM ${db.table('incident_tasks')} WHERE incident_id = ? ORDER BY created_at, id`, [incidentId]);
  return rows.map(toTask);
}

export async function insertDelivery(db: SqlExecutor, incidentId: string, delivery: Delivery): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('incident_deliveries')} (incident_id, seq, tenant_id, recipient, status, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, seq, tenant_id, recipient) DO UPDATE SET status = excluded.status, at = excluded.at`,
    [incidentId, delivery.seq, delivery.tenant, delivery.recipient, delivery.status, delivery.at],
  );
}

export async function selectDeliveries(db: SqlExecutor, incidentId: string): Promise<Delivery[]> {
  const rows = await db.query<{ seq: number | string; tenant_id: string; recipient: string; status: string; at: number | string }>(
    `SELECT seq, tenant_id, recipient, status, at FROM ${db.table('incident_deliveries')} WHERE incident_id = ? ORDER BY seq, tenant_id, recipient`,
    [incidentId],
  );
  return rows.map((r) => ({ seq: Number(r.seq), tenant: r.tenant_id, recipient: r.recipient, status: r.status as Delivery['status'], at: Number(r.at) }));
}
