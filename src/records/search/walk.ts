import type { SqlExecutor } from '../../platform/db/index.js';
import { indexParamOf } from '../resource-types.js';
import type { Clause, Condition, SearchQuery } from './parse.js';
import { afterCursor, dateSql, pageColumns, probeSql, scanSearch, scopeSql, type Fragment, type RecordScope, type SearchPlan } from './sql.js';

type IndexClause = Extract<Clause, { on: 'index' }>;

/**
 * The equality a walk can start from: one reference, or one code with its system. Each record
 * has at most one index row for it (replaceIndex writes identical rows once), so the walk meets
 * every match once. A reference is preferred: a patient's records are fewer than a code's.
 */
function driverOf(query: SearchQuery): { clause: IndexClause; condition: Condition } | undefined {
  let best: { clause: IndexClause; condition: Condition } | undefined;
  for (const clause of query.clauses) {
    if (clause.on !== 'index' || clause.conditions.length !== 1) continue;
    const condition = clause.conditions[0] as Condition;
    if (condition.kind === 'reference' && condition.targets.length === 1) return { clause, condition };
    if (best === undefined && condition.kind === 'token' && condition.system !== undefined && condition.code !== undefined) best = { clause, condition };
  }
  return best;
}

function driverSql(condition: Condition): Fragment {
  if (condition.kind === 'reference') return { sql: 'd.value = ?', params: [condition.targets[0] as string] };
  if (condition.kind !== 'token' || condition.code === undefined || condition.system === undefined) throw new TypeError('not a walkable condition');
  return condition.system === null ? { sql: 'd.system IS NULL AND d.value = ?', params: [condition.code] } : { sql: 'd.system = ? AND d.value = ?', params: [condition.system, condition.code] };
}

/**
 * A search whose page comes from one index walk that stops after the page: the index rows of
 * the driving equality, already in page order (search_index_walk_updated or _walk_date), each
 * tested against the other clauses and the caller's scope on covering indexes, the records
 * table read for the page's rows only. Counting walks the same rows and reads no table row.
 * Shapes it cannot serve (no such equality, several sort keys, _sort=_id, `_offset` into a date
 * order) fall back to scanSearch.
 */
export function planSearch(db: SqlExecutor, query: SearchQuery, scope: RecordScope = { kind: 'tenant' }): SearchPlan {
  const driver = driverOf(query);
  const sort = query.sort[0];
  // An offset into a date order would have to count the dated matches to know where the
  // undated ones start: only the one-phase order takes an offset (it skips walked rows).
  if (driver === undefined || query.sort.length > 1 || sort?.key === 'id' || (query.offset > 0 && sort?.key === 'date')) return scanSearch(db, query, scope);

  const index = db.table('search_index');
  const head = driverSql(driver.condition);
  const start: Fragment = { sql: `d.resource_type = ? AND d.param = ? AND ${head.sql}`, params: [query.type, indexParamOf(driver.clause.param), ...head.params] };
  const reach = scopeSql(db, scope, 'd.key_subject');
  const filterOf = (perRow: boolean): Fragment[] => {
    const where: Fragment[] = [start];
    if (reach !== undefined) where.push(reach);
    for (const clause of query.clauses) {
      if (clause === driver.clause) continue;
      if (clause.on === 'id') where.push({ sql: `d.resource_id IN (${clause.ids.map(() => '?').join(', ')})`, params: clause.ids });
      else if (clause.on === 'lastUpdated') {
        const any = clause.conditions.map((c) => dateSql('d.last_updated', 'd.last_updated', c));
        where.push({ sql: any.length === 1 ? (any[0] as Fragment).sql : `(${any.map((f) => f.sql).join(' OR ')})`, params: any.flatMap((f) => f.params) });
      } else where.push(probeSql(db, 'd.resource_type', 'd.resource_id', clause, perRow));
    }
    return where;
  };
  const where = filterOf(true);
  const counted = filterOf(false);
  const sqlOf = (fragments: readonly Fragment[]) => fragments.map((f) => f.sql).join(' AND ');
  const paramsOf = (fragments: readonly Fragment[]) => fragments.flatMap((f) => f.params);

  const descending = sort?.descending === true;
  const direction = descending ? ' DESC' : '';
  const byDate = sort?.key === 'date';
  const key = byDate ? 'd.sort_date' : 'd.last_updated';
  const phase = (extra: readonly Fragment[], keyed: boolean) => (limit: number): Fragment => {
    const all = [...where, ...extra];
    const inner = `${keyed ? `${key}${direction}, ` : ''}d.resource_id${direction}`;
    const outer = `${keyed ? `w.k${direction}, ` : ''}w.resource_id${direction}`;
    return {
      sql:
        `SELECT ${pageColumns} FROM (SELECT d.resource_id, ${key} AS k FROM ${index} d WHERE ${all.map((f) => f.sql).join(' AND ')} ORDER BY ${inner} LIMIT ? OFFSET ?) w ` +
        `JOIN ${db.table('resources')} r ON r.resource_type = ? AND r.id = w.resource_id ORDER BY ${outer}`,
      params: [...all.flatMap((f) => f.params), limit, query.offset, query.type],
    };
  };
  const cursor = query.cursor;
  const phases: Array<(limit: number) => Fragment> = [];
  if (!byDate) {
    phases.push(phase(cursor === undefined ? [] : [afterCursor(key, 'd.resource_id', cursor, descending)], true));
  } else {
    // Records without a date come last in both directions, by id: a second walk.
    if (cursor?.value !== null) {
      const after = cursor === undefined ? [] : [afterCursor(key, 'd.resource_id', cursor, descending)];
      phases.push(phase([{ sql: `${key} IS NOT NULL`, params: [] }, ...after], true));
    }
    const afterNull = cursor?.value === null ? [afterCursor(key, 'd.resource_id', cursor, descending)] : [];
    phases.push(phase([{ sql: `${key} IS NULL`, params: [] }, ...afterNull], false));
  }
  return {
    phases,
    // A bounded count stops early only if it walks row by row; a whole count may join as it likes.
    count: (bound) =>
      bound === undefined
        ? { sql: `SELECT COUNT(*) AS total FROM ${index} d WHERE ${sqlOf(counted)}`, params: paramsOf(counted) }
        : { sql: `SELECT COUNT(*) AS total FROM (SELECT 1 FROM ${index} d WHERE ${sqlOf(where)} LIMIT ?) c`, params: [...paramsOf(where), bound] },
    estimate: {
      sql: `SELECT COUNT(*) AS total FROM ${index} d WHERE ${[start, ...(reach === undefined ? [] : [reach])].map((f) => f.sql).join(' AND ')}`,
      params: [...start.params, ...(reach?.params ?? [])],
    },
    walk: true,
  };
}
