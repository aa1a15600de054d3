import type { SqlExecutor, SqlValue } from '../../platform/db/index.js';
import { indexParamOf } from '../resource-types.js';
import type { Cursor } from './cursor.js';
import type { Clause, Condition, SearchQuery } from './parse.js';

// The highest code point sorts after every other one in both engines' byte-wise order, so
// [prefix, prefix + U+10FFFF) is a starts-with range an index can serve.
const afterEverything = '\u{10FFFF}';

export interface Fragment {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** FHIR date comparison of a target range [low, high] with the search range (R4 §3.1.1.4.3). */
export function dateSql(low: string, high: string, c: Extract<Condition, { kind: 'date' }>): Fragment {
  const { low: pl, high: ph } = c.range;
  switch (c.prefix) {
    case 'eq':
      return { sql: `(${low} >= ? AND ${high} <= ?)`, params: [pl, ph] };
    case 'ne':
      return { sql: `NOT (${low} >= ? AND ${high} <= ?)`, params: [pl, ph] };
    case 'gt':
      return { sql: `${high} > ?`, params: [ph] };
    case 'lt':
      return { sql: `${low} < ?`, params: [pl] };
    case 'ge':
      return { sql: `(${high} > ? OR (${low} >= ? AND ${high} <= ?))`, params: [ph, pl, ph] };
    case 'le':
      return { sql: `(${low} < ? OR (${low} >= ? AND ${high} <= ?))`, params: [pl, pl, ph] };
    case 'sa':
      return { sql: `${low} > ?`, params: [ph] };
    case 'eb':
      return { sql: `${high} < ?`, params: [pl] };
  }
}

function conditionSql(c: Condition): Fragment {
  switch (c.kind) {
    case 'token':
      if (c.system === undefined) return { sql: 'i.value = ?', params: [c.code ?? ''] };
      if (c.system === null) return c.code === undefined ? { sql: 'i.system IS NULL', params: [] } : { sql: '(i.system IS NULL AND i.value = ?)', params: [c.code] };
      if (c.code === undefined) return { sql: 'i.system = ?', params: [c.system] };
      return { sql: '(i.system = ? AND i.value = ?)', params: [c.system, c.code] };
    case 'reference':
      return { sql: `i.value IN (${c.targets.map(() => '?').join(', ')})`, params: c.targets };
    case 'string':
      return { sql: '(i.value >= ? AND i.value < ?)', params: [c.prefix, c.prefix + afterEverything] };
    case 'date':
      return dateSql('i.low', 'i.high', c);
  }
}

function anyOf(fragments: readonly Fragment[]): Fragment {
  return { sql: fragments.length === 1 ? (fragments[0] as Fragment).sql : `(${fragments.map((f) => f.sql).join(' OR ')})`, params: fragments.flatMap((f) => f.params) };
}

// Which clause drives the query: the most selective kind is looked up first, the rest are probed
// per candidate row. Planners on both engines do well with this shape.
const selectivity = (clause: Clause): number =>
  clause.on === 'id' ? 0 : clause.on === 'lastUpdated' ? 9 : ({ reference: 1, token: 2, string: 3, date: 4 } as const)[clause.param.type];

function clauseSql(db: SqlExecutor, type: string, clause: Clause, driving: boolean): Fragment {
  if (clause.on === 'id') return { sql: `r.id IN (${clause.ids.map(() => '?').join(', ')})`, params: clause.ids };
  if (clause.on === 'lastUpdated') return anyOf(clause.conditions.map((c) => dateSql('r.last_updated', 'r.last_updated', c)));
  const values = anyOf(clause.conditions.map(conditionSql));
  const index = db.table('search_index');
  if (driving) {
    return { sql: `r.id IN (SELECT i.resource_id FROM ${index} i WHERE i.resource_type = ? AND i.param = ? AND ${values.sql})`, params: [type, indexParamOf(clause.param), ...values.params] };
  }
  return probeSql(db, 'r.resource_type', 'r.id', clause);
}

/**
 * Whether the record (`type`, `id` columns of the outer query) has an index row the clause
 * matches. `perRow`: tested for each row of the outer query as it is read. PostgreSQL otherwise
 * turns EXISTS into a semi-join that reads every row of the clause first; an OFFSET keeps the
 * subquery from being pulled up (it is then a SubPlan).
 */
export function probeSql(db: SqlExecutor, type: string, id: string, clause: Extract<Clause, { on: 'index' }>, perRow = false): Fragment {
  const values = anyOf(clause.conditions.map(conditionSql));
  const fence = perRow && db.dialect === 'postgres' ? ' OFFSET 0' : '';
  return {
    sql: `EXISTS (SELECT 1 FROM ${db.table('search_index')} i WHERE i.resource_type = ${type} AND i.resource_id = ${id} AND i.param = ? AND ${values.sql}${fence})`,
    params: [indexParamOf(clause.param), ...values.params],
  };
}

/**
 * How far a search may reach (the permission matrix decides): every record, one patient's
 * compartment (the records sealed under that patient's key), or the records of the patients
 * in a practitioner's care — linked as the patient's generalPractitioner, or through an
 * Appointment of both — plus the records about no patient.
 */
export type RecordScope =
  | { readonly kind: 'tenant' }
  | { readonly kind: 'subject'; readonly subject: string }
  | { readonly kind: 'care'; readonly practitionerId: string | undefined };

/** The patients (`Patient/<id>`) in a practitioner's care, as a subquery of the links table. */
export function careSubjectsSql(db: SqlExecutor): Fragment {
  const links = db.table('resource_links');
  return {
    sql:
      `SELECT 'Patient/' || gp.resource_id FROM ${links} gp WHERE gp.target_type = 'Practitioner' AND gp.target_id = ? AND gp.resource_type = 'Patient' ` +
      `UNION SELECT 'Patient/' || ap.target_id FROM ${links} pr JOIN ${links} ap ON ap.resource_type = 'Appointment' AND ap.resource_id = pr.resource_id AND ap.target_type = 'Patient' ` +
      `WHERE pr.target_type = 'Practitioner' AND pr.target_id = ? AND pr.resource_type = 'Appointment'`,
    params: [],
  };
}

/** `column`: the key subject of the row the scope restricts (a record, or its index rows). */
export function scopeSql(db: SqlExecutor, scope: RecordScope, column = 'r.key_subject'): Fragment | undefined {
  switch (scope.kind) {
    case 'tenant':
      return undefined;
    case 'subject':
      return { sql: `${column} = ?`, params: [scope.subject] };
    case 'care': {
      const noPatient = `(${column} IS NULL OR ${column} = '_tenant')`;
      if (scope.practitionerId === undefined) return { sql: noPatient, params: [] };
      return { sql: `(${noPatient} OR ${column} IN (${careSubjectsSql(db).sql}))`, params: [scope.practitionerId, scope.practitionerId] };
    }
  }
}

/**
 * A search as statements. The page comes in one or two phases (records with a date, then those
 * without, when sorted by date on the index walk); each takes the number of rows still wanted.
 */
export interface SearchPlan {
  readonly phases: ReadonlyArray<(limit: number) => Fragment>;
  /** Counts the matches; with `bound`, stops once it has counted that many. */
  count(bound?: number): Fragment;
  /** A cheap upper bound of the matches, where there is one (`_total=estimate`). */
  readonly estimate: Fragment | undefined;
  /** Whether the pages come from an index walk (walk.ts) rather than from the records table. */
  readonly walk: boolean;
}

export const pageColumns = 'r.id, r.version_id, r.content, r.sealed, r.key_subject, r.last_updated, r.sort_date';

/**
 * The keyset condition: rows after `cursor` in the order (`key`, id), both in one direction.
 * Ties on the key are ordered by id in the key's direction, so that one index serves the order.
 */
export function afterCursor(keyColumn: string, idColumn: string, cursor: Cursor, descending: boolean): Fragment {
  const op = descending ? '<' : '>';
  if (cursor.value === null) return { sql: `${idColumn} ${op} ?`, params: [cursor.id] };
  return { sql: `(${keyColumn}, ${idColumn}) ${op} (?, ?)`, params: [cursor.value, cursor.id] };
}

/** The search over the records table: for shapes without an equality to walk (see walk.ts). */
export function scanSearch(db: SqlExecutor, query: SearchQuery, scope: RecordScope): SearchPlan {
  const ordered = [...query.clauses].sort((a, b) => selectivity(a) - selectivity(b));
  const where: Fragment[] = [{ sql: 'r.resource_type = ? AND r.deleted = 0', params: [query.type] }];
  const reach = scopeSql(db, scope);
  if (reach !== undefined) where.push(reach);
  ordered.forEach((clause, position) => where.push(clauseSql(db, query.type, clause, position === 0)));
  const filter = `FROM ${db.table('resources')} r WHERE ${where.map((f) => f.sql).join(' AND ')}`;
  const params = where.flatMap((f) => f.params);

  // With a filter, the matches are few and found through the search index; walking the
  // last_updated index in order instead and testing every row (SQLite's choice without
  // statistics) costs 10× more. Unary + hides the column from the index on both engines.
  const lastUpdated = query.clauses.length > 0 ? '+r.last_updated' : 'r.last_updated';
  const order: string[] = [];
  const keyset: Fragment[] = [];
  const single = query.sort.length <= 1;
  for (const { key, descending } of query.sort) {
    const direction = descending ? ' DESC' : '';
    // NULLs last in both directions on both engines (they disagree by default).
    if (key === 'date') order.push('(r.sort_date IS NULL)', `r.sort_date${direction}`);
    else if (key === 'lastUpdated') order.push(`${lastUpdated}${direction}`);
    else order.push(`r.id${direction}`);
  }
  if (query.sort.length === 0) order.push(lastUpdated);
  const tieDescending = single && query.sort[0]?.descending === true;
  if (!query.sort.some((s) => s.key === 'id')) order.push(`r.id${tieDescending ? ' DESC' : ''}`);
  const cursor = query.cursor;
  if (cursor !== undefined) {
    if (cursor.key === 'lastUpdated') keyset.push(afterCursor('r.last_updated', 'r.id', cursor, tieDescending));
    else if (cursor.key === 'id') keyset.push(afterCursor('r.id', 'r.id', cursor, tieDescending));
    else if (cursor.value === null) keyset.push({ sql: `(r.sort_date IS NULL AND ${afterCursor('r.sort_date', 'r.id', cursor, tieDescending).sql})`, params: [cursor.id] });
    else {
      const after = afterCursor('r.sort_date', 'r.id', cursor, tieDescending);
      keyset.push({ sql: `(r.sort_date IS NULL OR ${after.sql})`, params: after.params });
    }
  }
  const pageFilter = keyset.length === 0 ? filter : `${filter} AND ${keyset.map((f) => f.sql).join(' AND ')}`;
  const pageParams = [...params, ...keyset.flatMap((f) => f.params)];
  return {
    phases: [(limit) => ({ sql: `SELECT ${pageColumns} ${pageFilter} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`, params: [...pageParams, limit, query.offset] })],
    count: (bound) =>
      bound === undefined ? { sql: `SELECT COUNT(*) AS total ${filter}`, params } : { sql: `SELECT COUNT(*) AS total FROM (SELECT 1 ${filter} LIMIT ?) c`, params: [...params, bound] },
    estimate: undefined,
    walk: false,
  };
}
