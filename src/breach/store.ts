import type { SqlExecutor } from '../platform/db/index.js';
import type { StoredRecordRow } from './raw-files.js';
import type { TrailRow } from './tally.js';

/** Which events of a tenant's trail concern the suspect, as SQL over `audit_events`. */
export type TrailSelection =
  /** Exact actor ids (`audit_events_actor` index on (actor_id, at)), or a client's events (`client` column). */
  | { readonly kind: 'actors'; readonly actorIds: readonly string[]; readonly clients: readonly string[] }
  /** Every event of the window (`audit_events_at`), filtered by the caller: address ranges. */
  | { readonly kind: 'window' };

interface Row {
  seq: number | string;
  at: number | string;
  action: string;
  outcome: string;
  source_ip: string;
  resources: string;
  subjects: string;
  classes: string;
}

// A day's events per query: index-friendly bounds on `at`, and memory bounded by a day of the
// suspect's events rather than the whole window's.
const sliceMs = 86_400_000;

/**
 * Streams the tenant's events with `from ≤ at ≤ to` that match the selection to `visit`, a day
 * at a time. `keep` filters on the source address before the arrays are parsed.
 */
export async function readTrail(db: SqlExecutor, from: number, to: number, selection: TrailSelection, visit: (row: TrailRow) => void, keep: (sourceIp: string) => boolean = () => true): Promise<void> {
  const table = db.table('audit_events');
  const columns = 'seq, at, action, outcome, source_ip, resources, subjects, classes';
  let where = '';
  let params: string[] = [];
  if (selection.kind === 'actors') {
    const parts: string[] = [];
    if (selection.actorIds.length > 0) parts.push(`actor_id IN (${selection.actorIds.map(() => '?').join(', ')})`);
    if (selection.clients.length > 0) parts.push(`client IN (${selection.clients.map(() => '?').join(', ')})`);
    if (parts.length === 0) return;
    where = ` AND (${parts.join(' OR ')})`;
    params = [...selection.actorIds, ...selection.clients];
  }
  for (let start = from; start <= to; start += sliceMs) {
    const end = Math.min(to, start + sliceMs - 1);
    const rows = await db.query<Row>(`SELECT ${columns} FROM ${table} WHERE at >= ? AND at <= ?${where}`, [start, end, ...params]);
    for (const row of rows) {
      if (!keep(row.source_ip)) continue;
      visit({
        seq: Number(row.seq),
        at: Number(row.at),
        action: row.action,
        outcome: row.outcome,
        resources: JSON.parse(row.resources) as string[],
        subjects: JSON.parse(row.subjects) as string[],
        classes: JSON.parse(row.classes) as string[],
      });
    }
  }
}

/**
 * The tenant's records whose first version was written by `to` and whose key was not destroyed
 * (crypto-shredded rows, `deleted = 2`, are unreadable to anyone). Soft-deleted records stay:
 * their versions are still in the files.
 */
export async function selectStoredRecords(db: SqlExecutor, to: number): Promise<StoredRecordRow[]> {
  const resources = db.table('resources');
  const versions = db.table('resource_versions');
  const rows = await db.query<{ resource_type: string; id: string; key_subject: string | null; sealed: number | string | boolean }>(
    `SELECT r.resource_type, r.id, r.key_subject, CASE WHEN EXISTS (SELECT 1 FROM ${versions} v WHERE v.resource_type = r.resource_type AND v.id = r.id AND v.sealed IS NOT NULL) OR r.sealed IS NOT NULL THEN 1 ELSE 0 END AS sealed
       FROM ${resources} r
      WHERE r.deleted < 2 AND COALESCE((SELECT MIN(v.last_updated) FROM ${versions} v WHERE v.resource_type = r.resource_type AND v.id = r.id), r.last_updated) <= ?`,
    [to],
  );
  return rows.map((row) => ({ type: row.resource_type, id: row.id, subject: row.key_subject ?? '_tenant', sealed: Number(row.sealed) === 1 }));
}
