import type { SqlExecutor } from '../platform/db/index.js';
import type { Residency } from './people.js';
import type { Answer, ComputedItem, PlatformRole, Regime } from './assessment-types.js';

export interface AssessmentRow {
  readonly incidentId: string;
  readonly scopeId: string;
  readonly scopeHash: string;
  readonly awareAt: number;
  /** Set when a person moved the time of awareness away from the incident's. */
  readonly awareness: { readonly reason: string; readonly by: string; readonly at: number } | null;
  readonly role: PlatformRole;
  readonly regimes: readonly Regime[];
  readonly residency: Readonly<Record<string, Residency>>;
  readonly computedAt: number;
  readonly computedBy: string;
  /** Item keys whose computed answer changed at the last computation. */
  readonly changed: readonly string[];
}

export interface ItemRow {
  readonly key: string;
  readonly tenantId: string;
  readonly computed: ComputedItem;
  readonly override: { readonly answer: Answer; readonly reason: string; readonly by: string; readonly at: number } | null;
  readonly done: { readonly at: number; readonly by: string; readonly how: string } | null;
}

type Num = number | string;
interface AssessmentSql { incident_id: string; scope_id: string; scope_hash: string; aware_at: Num; aware_reason: string | null; aware_by: string | null; aware_changed_at: Num | null; role: string; regimes: string; residency: string; computed_at: Num; computed_by: string; changed: string }
interface ItemSql { item_key: string; tenant_id: string; computed: string; override_answer: string | null; override_reason: string | null; override_by: string | null; override_at: Num | null; done_at: Num | null; done_by: string | null; done_how: string | null }

const toAssessment = (r: AssessmentSql): AssessmentRow => ({
  incidentId: r.incident_id,
  scopeId: r.scope_id,
  scopeHash: r.scope_hash,
  awareAt: Number(r.aware_at),
  awareness: r.aware_reason === null ? null : { reason: r.aware_reason, by: r.aware_by ?? '', at: Number(r.aware_changed_at) },
  role: r.role as PlatformRole,
  regimes: JSON.parse(r.regimes) as Regime[],
  residency: JSON.parse(r.residency) as Record<string, Residency>,
  computedAt: Number(r.computed_at),
  computedBy: r.computed_by,
  changed: JSON.parse(r.changed) as string[],
});

const toItem = (r: ItemSql): ItemRow => ({
  key: r.item_key,
  tenantId: r.tenant_id,
  computed: JSON.parse(r.computed) as ComputedItem,
  override: r.override_answer === null ? null : { answer: r.override_answer as Answer, reason: r.override_reason ?? '', by: r.override_by ?? '', at: Number(r.override_at) },
  done: r.done_at === null ? null : { at: Number(r.done_at), by: r.done_by ?? '', how: r.done_how ?? '' },
});

export async function selectAssessment(db: SqlExecutor, incidentId: string): Promise<AssessmentRow | undefined> {
  const [row] = await db.query<AssessmentSql>(`SELECT * FROM ${db.table('notification_assessments')} WHERE incident_id = ?`, [incidentId]);
  return row === undefined ? undefined : toAssessment(row);
}

/** A tenant's items only when `tenantId` is given: nobody reads another controller's duties. */
export async function selectItems(db: SqlExecutor, incidentId: string, tenantId?: string): Promise<ItemRow[]> {
  const rows = await db.query<ItemSql>(
    `SELECT item_key, tenant_id, computed, override_answer, override_reason, override_by, override_at, done_at, done_by, done_how FROM ${db.table('notification_items')} WHERE incident_id = ?${tenantId === undefined ? '' : ' AND tenant_id = ?'}`,
    tenantId === undefined ? [incidentId] : [incidentId, tenantId],
  );
  return rows.map(toItem);
}

export async function upsertAssessment(db: SqlExecutor, row: AssessmentRow): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('notification_assessments')} WHERE incident_id = ?`, [row.incidentId]);
  await db.execute(
    `INSERT INTO ${db.table('notification_assessments')} (incident_id, scope_id, scope_hash, aware_at, aware_reason, aware_by, aware_changed_at, role, regimes, residency, computed_at, computed_by, changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.incidentId, row.scopeId, row.scopeHash, row.awareAt, row.awareness?.reason ?? null, row.awareness?.by ?? null, row.awareness?.at ?? null, row.role, JSON.stringify(row.regimes), JSON.stringify(row.residency), row.computedAt, row.computedBy, JSON.stringify(row.changed)],
  );
}

/** Writes the computed part of each item; a person's override and done record stay (items no longer computed go, with theirs). */
export async function replaceComputed(db: SqlExecutor, incidentId: string, items: readonly ComputedItem[]): Promise<void> {
  const keys = items.map((i) => i.key);
  await db.execute(`DELETE FROM ${db.table('notification_items')} WHERE incident_id = ?${keys.length === 0 ? '' : ` AND item_key NOT IN (${keys.map(() => '?').join(', ')})`}`, [incidentId, ...keys]);
  for (const item of items) {
    const updated = await db.execute(`UPDATE ${db.table('notification_items')} SET computed = ?, answer = ?, due_at = ? WHERE incident_id = ? AND item_key = ?`, [JSON.stringify(item), item.answer, item.dueAt, incidentId, item.key]);
    if (updated === 0) {
      await db.execute(`INSERT INTO ${db.table('notification_items')} (incident_id, item_key, tenant_id, computed, answer, due_at) VALUES (?, ?, ?, ?, ?, ?)`, [incidentId, item.key, item.tenantId, JSON.stringify(item), item.answer, item.dueAt]);
    }
  }
}

export async function updateOverride(db: SqlExecutor, incidentId: string, key: string, override: ItemRow['override']): Promise<void> {
  await db.execute(`UPDATE ${db.table('notification_items')} SET override_answer = ?, override_reason = ?, override_by = ?, override_at = ? WHERE incident_id = ? AND item_key = ?`, [override?.answer ?? null, override?.reason ?? null, override?.by ?? null, override?.at ?? null, incidentId, key]);
}

export async function updateDone(db: SqlExecutor, incidentId: string, key: string, done: ItemRow['done']): Promise<void> {
  await db.execute(`UPDATE ${db.table('notification_items')} SET done_at = ?, done_by = ?, done_how = ? WHERE incident_id = ? AND item_key = ?`, [done?.at ?? null, done?.by ?? null, done?.how ?? null, incidentId, key]);
}

/** An open item with a deadline, as the deadline job reads it. */
export interface DueItem {
  readonly incidentId: string;
  readonly key: string;
  readonly tenantId: string;
  readonly awareAt: number;
  readonly dueAt: number;
  readonly cite: string;
  readonly severity: ComputedItem['severity'];
  readonly stages: readonly string[];
}

/** Items not done whose effective answer is `yes` or `decide` (an open question runs out of time too), with a deadline. */
export async function selectDueItems(db: SqlExecutor): Promise<DueItem[]> {
  const items = db.table('notification_items');
  const rows = await db.query<{ incident_id: string; item_key: string; tenant_id: string; computed: string; aware_at: Num; due_at: Num }>(
    `SELECT i.incident_id, i.item_key, i.tenant_id, i.computed, a.aware_at, i.due_at FROM ${items} i JOIN ${db.table('notification_assessments')} a ON a.incident_id = i.incident_id
     WHERE i.done_at IS NULL AND i.due_at IS NOT NULL AND COALESCE(i.override_answer, i.answer) IN ('yes', 'decide')`,
    [],
  );
  if (rows.length === 0) return [];
  const stages = await db.query<{ incident_id: string; item_key: string; stage: string }>(`SELECT incident_id, item_key, stage FROM ${db.table('notification_stages')}`, []);
  const fired = new Map<string, string[]>();
  for (const s of stages) fired.set(`${s.incident_id} ${s.item_key}`, [...(fired.get(`${s.incident_id} ${s.item_key}`) ?? []), s.stage]);
  return rows.map((r) => {
    const computed = JSON.parse(r.computed) as ComputedItem;
    return { incidentId: r.incident_id, key: r.item_key, tenantId: r.tenant_id, awareAt: Number(r.aware_at), dueAt: Number(r.due_at), cite: computed.cite, severity: computed.severity, stages: fired.get(`${r.incident_id} ${r.item_key}`) ?? [] };
  });
}

/** Records stages as raised; false when another node got there first. */
/** Claims the stages for this process (another node may have claimed some first): the ones it claimed. */
export async function insertStages(db: SqlExecutor, incidentId: string, key: string, stages: readonly string[], at: number): Promise<string[]> {
  const claimed: string[] = [];
  for (const stage of stages) {
    const result = await db.execute(`INSERT INTO ${db.table('notification_stages')} (incident_id, item_key, stage, at) VALUES (?, ?, ?, ?) ON CONFLICT (incident_id, item_key, stage) DO NOTHING`, [incidentId, key, stage, at]);
    if (result > 0) claimed.push(stage);
  }
  return claimed;
}

/** Gives claimed stages back, so that the next round raises them again. */
export async function deleteStages(db: SqlExecutor, incidentId: string, key: string, stages: readonly string[]): Promise<void> {
  for (const stage of stages) await db.execute(`DELETE FROM ${db.table('notification_stages')} WHERE incident_id = ? AND item_key = ? AND stage = ?`, [incidentId, key, stage]);
}
