import { StorageError } from './errors.js';
import type { Migration, SqlDatabase, SqlExecutor } from './types.js';

export interface MigrateOptions {
  /**
   * Parameter-free statements run first inside the migration's transaction, after its lock
   * (PostgreSQL: `CREATE SCHEMA IF NOT EXISTS` of a new tenant, so that the schema and its tables
   * commit together, with one durable commit instead of two).
   */
  readonly prelude?: readonly string[];
}

/**
 * Applies pending migrations in one transaction, under a lock so that two processes (the server
 * and an admin CLI, or two app nodes) never migrate the same data set at once. A data set
 * migrated by newer code than this one is refused rather than guessed at.
 */
export async function migrate(db: SqlDatabase, migrations: readonly Migration[], lockName: string, now: () => number, options: MigrateOptions = {}): Promise<number> {
  const known = new Set(migrations.map((m) => m.id));
  if (known.size !== migrations.length) throw new TypeError('duplicate migration id');
  // A data set reopened after the open set closed it is normally up to date: one read says so,
  // where the locked transaction below would cost a durable commit (an fsync) on every reopen.
  if (await upToDate(db, known)) return 0;
  return db.transaction(async (tx) => {
    const table = tx.table('schema_migrations');
    const applied = new Set((tx.dialect === 'postgres' ? await lockPostgres(tx, table, lockName, options.prelude ?? []) : await prepareSqlite(tx, table)).map((row) => row.id));
    const unknown = [...applied].filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new StorageError('schema-too-new', `data set ${lockName} has migrations this version does not know (${unknown.join(', ')}); upgrade Tresor`, { status: 500 });
    }
    const pending = migrations.filter((migration) => !applied.has(migration.id));
    if (pending.length === 0) return 0;
    const appliedAt = now();
    if (tx.dialect === 'postgres') {
      // A new tenant's DDL is ~65 statements: sent one by one, each waited a round trip. Here
      // they leave together as one simple-protocol query (prepared statements cannot carry
      // several), with the migrations' ids right behind it (pipelined), and the server runs them
      // in order inside this transaction; the first failure fails the rest and the transaction.
      // The text is our migrations' DDL only, with identifiers quoted by quoteIdent: no parameters, no user text.
      const ddl = pending.flatMap((migration) => migration.up.postgres(tx.table));
      const rows = pending.map(() => '(?, ?)').join(', ');
      await Promise.all([
        ddl.length === 0 ? Promise.resolve(0) : tx.execute(ddl.join('\n;\n')),
        tx.execute(`INSERT INTO ${table} (id, applied_at) VALUES ${rows}`, pending.flatMap((migration) => [migration.id, appliedAt])),
      ]);
      return pending.length;
    }
    for (const migration of pending) {
      for (const statement of migration.up[tx.dialect](tx.table)) await tx.execute(statement);
      await tx.execute(`INSERT INTO ${table} (id, applied_at) VALUES (?, ?)`, [migration.id, appliedAt]);
    }
    return pending.length;
  });
}

async function prepareSqlite(tx: SqlExecutor, table: string): Promise<Array<{ id: string }>> {
  await tx.execute(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`);
  return tx.query<{ id: string }>(`SELECT id FROM ${table}`);
}

/** The lock, the prelude, the migrations table and what it holds: sent together, one round trip (with BEGIN). */
async function lockPostgres(tx: SqlExecutor, table: string, lockName: string, prelude: readonly string[]): Promise<Array<{ id: string }>> {
  const sent: Array<Promise<unknown>> = [tx.query('SELECT pg_advisory_xact_lock(hashtext(?))', [lockName])];
  for (const statement of prelude) sent.push(tx.execute(statement));
  sent.push(tx.execute(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`));
  const ids = tx.query<{ id: string }>(`SELECT id FROM ${table}`);
  await Promise.all([...sent, ids]);
  return ids;
}

async function upToDate(db: SqlDatabase, known: ReadonlySet<string>): Promise<boolean> {
  const table = db.table('schema_migrations');
  // Asked without failing (a failed statement would abort a caller's PostgreSQL transaction, as in a restore).
  const exists =
    db.dialect === 'postgres'
      ? (await db.query<{ found: string | null }>('SELECT to_regclass(?) AS found', [table]))[0]?.found != null
      : (await db.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, ['schema_migrations'])).length > 0;
  // No migrations table yet (a new data set, or a new schema): the transaction makes it.
  if (!exists) return false;
  const applied = await db.query<{ id: string }>(`SELECT id FROM ${table}`);
  return applied.length === known.size && applied.every((row) => known.has(row.id));
}
