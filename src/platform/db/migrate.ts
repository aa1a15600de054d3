import { StorageError } from './errors.js';
import type { Migration, SqlDatabase } from './types.js';

/**
 * Applies pending migrations in one transaction, under a lock so that two processes (the server
 * and an admin CLI, or two app nodes) never migrate the same data set at once. A data set
 * migrated by newer code than this one is refused rather than guessed at.
 */
export async function migrate(db: SqlDatabase, migrations: readonly Migration[], lockName: string, now: () => number): Promise<number> {
  const known = new Set(migrations.map((m) => m.id));
  if (known.size !== migrations.length) throw new TypeError('duplicate migration id');
  // A data set reopened after the open set closed it is normally up to date: one read says so,
  // where the locked transaction below would cost a durable commit (an fsync) on every reopen.
  if (await upToDate(db, known)) return 0;
  return db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(hashtext(?))', [lockName]);
    const table = tx.table('schema_migrations');
    await tx.execute(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`);
    const applied = new Set((await tx.query<{ id: string }>(`SELECT id FROM ${table}`)).map((row) => row.id));
    const unknown = [...applied].filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new StorageError('schema-too-new', `data set ${lockName} has migrations this version does not know (${unknown.join(', ')}); upgrade Tresor`, { status: 500 });
    }
    let count = 0;
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      for (const statement of migration.up[tx.dialect](tx.table)) await tx.execute(statement);
      await tx.execute(`INSERT INTO ${table} (id, applied_at) VALUES (?, ?)`, [migration.id, now()]);
      count += 1;
    }
    return count;
  });
}

async function upToDate(db: SqlDatabase, known: ReadonlySet<string>): Promise<boolean> {
  const table = db.table('schema_migrations');
  // Asked without failing (a failed statement would abort a caller's PostgreSQL transaction, as in a restore).
  const exists =
    db.dialect === 'postgres'
      ? (await db.query<{ found: string | null }>('SELECT to_regclass(?) AS found', [table]))[0]?.found != null
      : (await db.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, ['schema_migrations'])).length > 0;
  // No migrations table yet (a new data set): the transaction makes it.
  if (!exists) return false;
  const applied = await db.query<{ id: string }>(`SELECT id FROM ${table}`);
  return applied.length === known.size && applied.every((row) => known.has(row.id));
}
