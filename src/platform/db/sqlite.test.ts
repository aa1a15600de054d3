import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrate } from './migrate.js';
import { openSqliteDatabase, sqliteDefaults } from './sqlite.js';
import type { Migration } from './types.js';

const migrations: Migration[] = [{ id: 'test/001', up: { sqlite: (t) => [`CREATE TABLE ${t('items')} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`], postgres: () => [] } }];

async function freshDatabase() {
  const file = join(mkdtempSync(join(tmpdir(), 'sqlite-')), 'x.db');
  const db = openSqliteDatabase(file);
  await migrate(db, migrations, 'test', Date.now);
  return { file, db };
}

describe('SQLite engine', () => {
  it('group-commits concurrent units but rolls back only the one that failed', async () => {
    const { db } = await freshDatabase();
    const results = await Promise.allSettled([
      db.transaction(async (tx) => tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a'])),
      db.transaction(async (tx) => {
        await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']);
        throw new Error('unit fails after writing');
      }),
      db.transaction(async (tx) => tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [3, 'c'])),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual((await db.query<{ id: number }>('SELECT id FROM items ORDER BY id')).map((r) => r.id), [1, 3]);
    await db.close();
  });

  it('fails the whole batch, acknowledging nothing, when SQLite abandons the transaction', async () => {
    const { db } = await freshDatabase();
    const results = await Promise.allSettled([
      db.transaction(async (tx) => tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a'])),
      // Stands in for an I/O or disk-full error, after which SQLite has rolled everything back.
      db.transaction(async (tx) => {
        await tx.execute('ROLLBACK');
        throw new Error('disk I/O error');
      }),
      db.transaction(async (tx) => tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [3, 'c'])),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    assert.equal((results[0] as PromiseRejectedResult).reason.code, 'storage-unavailable', 'the first unit is not acknowledged');
    assert.equal((await db.query('SELECT id FROM items')).length, 0);
    await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [4, 'd']);
    assert.equal((await db.query('SELECT id FROM items')).length, 1, 'the database works on afterwards');
    await db.close();
  });

  it('runs a writing statement given to query() (INSERT … RETURNING) on the writer, durably', async () => {
    const { file, db } = await freshDatabase();
    const rows = await db.query<{ id: number }>('INSERT INTO items (id, name) VALUES (?, ?) RETURNING id', [7, 'g']);
    assert.deepEqual(rows, [{ id: 7 }]);
    const other = new Database(file, { readonly: true });
    assert.deepEqual(other.prepare('SELECT name FROM items').all(), [{ name: 'g' }]);
    other.close();
    await db.close();
  });

  it('runs after-commit hooks only for units that committed, once the commit is durable', async () => {
    const { file, db } = await freshDatabase();
    const ran: string[] = [];
    const seen = new Database(file, { readonly: true });
    const count = () => (seen.prepare('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
    await Promise.allSettled([
      db.transaction(async (tx) => {
        await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']);
        tx.afterCommit(() => ran.push(`a sees ${count()}`));
      }),
      db.transaction(async (tx) => {
        tx.afterCommit(() => ran.push('b'));
        throw new Error('unit fails');
      }),
      db.transaction(async (tx) => {
        await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'c']);
        tx.afterCommit(() => ran.push(`c sees ${count()}`));
      }),
    ]);
    assert.deepEqual(ran, ['a sees 2', 'c sees 2'], 'after the one commit of the batch, never for the unit rolled back');
    seen.close();
    await db.close();
  });

  it('waits for another connection’s write lock without stalling the event loop, then answers 503', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sqlite-')), 'x.db');
    const db = openSqliteDatabase(file, { ...sqliteDefaults, busyTimeoutMs: 600 });
    await migrate(db, migrations, 'test', Date.now);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const started = performance.now();
    const refused = await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']).catch((error: { code?: string }) => error.code);
    clearInterval(ticker);
    assert.equal(refused, 'storage-unavailable');
    assert.ok(performance.now() - started >= 550, 'it waited about busyTimeoutMs');
    assert.ok(ticks >= 20, `timers kept running while it waited (${ticks} ticks)`);

    const waiting = db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']);
    setTimeout(() => other.exec('ROLLBACK'), 100);
    assert.equal(await waiting, 1, 'written once the lock is let go');
    other.close();
    await db.close();
  });

  it('is durable by default: WAL and synchronous=FULL, visible to another connection after commit', async () => {
    const { file, db } = await freshDatabase();
    await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']);
    const other = new Database(file, { readonly: true });
    assert.equal(other.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(other.prepare('SELECT name FROM items').all(), [{ name: 'a' }]);
    other.close();
    await db.close();
  });

  it('applies migrations once and refuses a data set migrated by newer code', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sqlite-')), 'x.db');
    const db = openSqliteDatabase(file);
    assert.equal(await migrate(db, migrations, 'test', Date.now), 1);
    assert.equal(await migrate(db, migrations, 'test', Date.now), 0);
    await db.execute('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', ['test/999-future', 0]);
    await assert.rejects(migrate(db, migrations, 'test', Date.now), (e: { code?: string }) => e.code === 'schema-too-new');
    await db.close();
  });
});
