import type { Lease, OpenSet } from './open-set.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './types.js';

/**
 * A tenant's data set as callers hold it: a stable handle whose every call takes a lease on the
 * open set for its own duration (a transaction's whole unit), opening the data set again if the
 * set closed it meanwhile. Holding the handle keeps nothing open.
 */
export function leasedDatabase(id: string, set: OpenSet<SqlDatabase>, shape: Pick<SqlExecutor, 'dialect' | 'table'>, generation: () => number): SqlDatabase {
  const lease = (): Lease<SqlDatabase> | Promise<Lease<SqlDatabase>> => set.acquireOpen(id) ?? set.acquire(id);
  async function run<T>(call: (db: SqlDatabase) => Promise<T>): Promise<T> {
    const held = await lease();
    try {
      return await call(held.handle);
    } finally {
      held.release();
    }
  }
  return {
    dialect: shape.dialect,
    table: shape.table,
    query: <T>(sql: string, params?: readonly SqlValue[]) => run((db) => db.query<T>(sql, params)),
    // SQLite's data sets read raw rows; PostgreSQL's callers fall back to `query`.
    ...(shape.dialect === 'sqlite' ? { queryArrays: (sql: string, params?: readonly SqlValue[]) => run((db) => (db.queryArrays === undefined ? Promise.reject(new TypeError('no queryArrays')) : db.queryArrays(sql, params))) } : {}),
    execute: (sql, params) => run((db) => db.execute(sql, params)),
    transaction: (fn) => run((db) => db.transaction(fn)),
    afterCommit: (fn) => fn(),
    dataVersion() {
      // Only while open (a closed data set cannot say; callers then fall back to their TTL).
      // The generation moves at every reopen, so a value never repeats across two openings.
      const held = set.acquireOpen(id);
      if (held === undefined) return undefined;
      try {
        const version = held.handle.dataVersion();
        return version === undefined ? undefined : generation() * 2 ** 32 + version;
      } finally {
        held.release();
      }
    },
    scrub: () => run((db) => db.scrub()),
    // The open set owns the connection; it closes it when it needs the room or at shutdown.
    close: async () => undefined,
  };
}
