import type { SqlExecutor } from '../platform/db/index.js';

/** One frozen scope as stored: the scope's JSON text exactly as computed, and its hash. */
export interface FrozenScopeRow {
  readonly incidentId: string;
  readonly id: string;
  readonly computedAt: number;
  readonly computedBy: string;
  readonly hash: string;
  /** The scope JSON as computed (inputs included). Parsed by the caller, checked against `hash`. */
  readonly json: string;
}

interface Row {
  incident_id: string;
  id: string;
  computed_at: number | string;
  computed_by: string;
  hash: string;
  scope: string;
}

const toRow = (r: Row): FrozenScopeRow => ({ incidentId: r.incident_id, id: r.id, computedAt: Number(r.computed_at), computedBy: r.computed_by, hash: r.hash, json: r.scope });

/** Append-only: there is no update nor delete of a frozen scope. */
export async function insertFrozenScope(db: SqlExecutor, row: FrozenScopeRow): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('incident_scopes')} (incident_id, id, computed_at, computed_by, hash, scope) VALUES (?, ?, ?, ?, ?, ?)`, [row.incidentId, row.id, row.computedAt, row.computedBy, row.hash, row.json]);
}

export async function selectFrozenScopes(db: SqlExecutor, incidentId: string): Promise<FrozenScopeRow[]> {
  const rows = await db.query<Row>(`SELECT incident_id, id, computed_at, computed_by, hash, scope FROM ${db.table('incident_scopes')} WHERE incident_id = ? ORDER BY id`, [incidentId]);
  return rows.map(toRow);
}

export async function selectFrozenScope(db: SqlExecutor, incidentId: string, id: string): Promise<FrozenScopeRow | undefined> {
  const rows = await db.query<Row>(`SELECT incident_id, id, computed_at, computed_by, hash, scope FROM ${db.table('incident_scopes')} WHERE incident_id = ? AND id = ?`, [incidentId, id]);
  return rows[0] === undefined ? undefined : toRow(rows[0]);
}
