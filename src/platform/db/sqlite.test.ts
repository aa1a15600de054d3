import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createCheckpointer } from './checkpointer.js';
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

  it('reads raw rows with queryArrays: the selected values in order, the same statement still answering objects to query()', async () => {
    const { db } = await freshDatabase();
    await db.transaction(async (tx) => {
      await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']);
      await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']);
    });
    const sql = 'SELECT name, id FROM items WHERE id >= ? ORDER BY id';
    assert.deepEqual(await db.queryArrays?.(sql, [1]), [['a', 1], ['b', 2]]);
    assert.deepEqual(await db.query(sql, [2]), [{ name: 'b', id: 2 }]);
    await assert.rejects(db.queryArrays?.('INSERT INTO items (id, name) VALUES (3, ?) RETURNING id', ['c']) ?? Promise.resolve(), TypeError);
    assert.equal((await db.query('SELECT id FROM items')).length, 2, 'refused, not written');
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

describe('SQLite engine: the disk flush off the event loop', () => {
  const fileIn = (dir = mkdtempSync(join(tmpdir(), 'sqlite-'))) => join(dir, 'x.db');

  /** A flush that waits until `release()`; `held` resolves when a batch reached it. */
  function heldFlush() {
    let release: () => void = () => {};
    let reached: () => void = () => {};
    const held = new Promise<void>((resolve) => (reached = resolve));
    let holding = false;
    return {
      held,
      release: () => {
        holding = false;
        release();
      },
      hold: () => (holding = true),
      beforeWalSync: () => {
        if (!holding) return Promise.resolve();
        reached();
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
  }

  it('acknowledges a batch only after its flush, and serves other data sets and its own reads meanwhile', async () => {
    const flush = heldFlush();
    const a = openSqliteDatabase(fileIn(), { ...sqliteDefaults, beforeWalSync: flush.beforeWalSync }, { readsWaitForFlush: false });
    const b = openSqliteDatabase(fileIn());
    await migrate(a, migrations, 'a', Date.now);
    await migrate(b, migrations, 'b', Date.now);
    await a.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'durable']);

    flush.hold();
    let acknowledged = false;
    let hookRan = false;
    const write = a
      .transaction(async (tx) => {
        tx.afterCommit(() => (hookRan = true));
        return tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'waiting']);
      })
      .then(() => (acknowledged = true));
    await flush.held;

    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    assert.equal(await b.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'other tenant']), 1, 'another data set commits durably');
    assert.deepEqual(await b.query('SELECT name FROM items'), [{ name: 'other tenant' }], 'and is read');
    assert.deepEqual(await a.query('SELECT name FROM items WHERE id = ?', [1]), [{ name: 'durable' }], 'the held data set still answers reads');
    await new Promise((resolve) => setTimeout(resolve, 50));
    clearInterval(ticker);
    assert.ok(ticks >= 3, `timers ran while the flush was held (${ticks})`);
    assert.equal(acknowledged, false, 'nothing acknowledged before its flush');
    assert.equal(hookRan, false, 'after-commit hooks wait for the flush too');

    flush.release();
    await write;
    assert.equal(hookRan, true);
    await Promise.all([a.close(), b.close()]);
  });

  it('pipelines: batches commit while a flush is held, and are acknowledged in order after it', async () => {
    const flush = heldFlush();
    const file = fileIn();
    const db = openSqliteDatabase(file, { ...sqliteDefaults, beforeWalSync: flush.beforeWalSync });
    await migrate(db, migrations, 'test', Date.now);
    flush.hold();
    const order: number[] = [];
    const first = db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']).then(() => order.push(1));
    await flush.held;
    const second = db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']).then(() => order.push(2));
    const other = new Database(file, { readonly: true });
    const committed = () => (other.prepare('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
    for (let n = 0; n < 100 && committed() < 2; n += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(committed(), 2, 'the second batch committed behind the held flush');
    // Reads of this data set (the default) wait for the flush of what they could see.
    let read = false;
    const reading = db.query('SELECT id FROM items').then((rows) => ((read = true), rows.length));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(order, [], 'neither batch acknowledged before the flush');
    assert.equal(read, false, 'a read that could see unflushed data waits');
    flush.release();
    await Promise.all([first, second]);
    assert.deepEqual(order, [1, 2]);
    assert.equal(await reading, 2);
    other.close();
    await db.close();
  });

  for (const readsWaitForFlush of [true, false]) it(`fails every unit of a batch whose flush failed, and acknowledges nothing more until reopened (readsWaitForFlush: ${readsWaitForFlush})`, async () => {
    const file = fileIn();
    let fail = false;
    const db = openSqliteDatabase(
      file,
      {
        ...sqliteDefaults,
        beforeWalSync: async () => {
          if (fail) throw Object.assign(new Error('fdatasync: input/output error'), { code: 'EIO' });
        },
      },
      { readsWaitForFlush },
    );
    await migrate(db, migrations, 'test', Date.now);
    fail = true;
    let hookRan = false;
    const results = await Promise.allSettled([
      db.transaction(async (tx) => {
        tx.afterCommit(() => (hookRan = true));
        return tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']);
      }),
      db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : r.status)), ['storage-unavailable', 'storage-unavailable']);
    assert.equal(hookRan, false);
    fail = false;
    await assert.rejects(db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [3, 'c']), (e: { code?: string }) => e.code === 'storage-unavailable', 'a retried sync could succeed over lost pages: no more writes');
    await assert.rejects(db.query('SELECT id FROM items'), (e: { code?: string }) => e.code === 'storage-unavailable', 'nor reads');
    await db.close();
    const reopened = openSqliteDatabase(file);
    assert.equal(await reopened.execute('INSERT INTO items (id, name) VALUES (?, ?)', [3, 'c']), 1, 'reopening recovers from what the disk holds');
    await reopened.close();
  });

  it('keeps flushing the same -wal file after a scrub truncated it', async () => {
    const { file, db } = await freshDatabase();
    await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'a']);
    const before = statSync(`${file}-wal`).ino;
    await db.scrub();
    assert.equal(statSync(`${file}-wal`).size, 0, 'TRUNCATE emptied the log');
    assert.equal(statSync(`${file}-wal`).ino, before, 'in place: the descriptor wal-sync holds still names it');
    await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'b']);
    assert.ok(statSync(`${file}-wal`).size > 0);
    await db.close();
    const other = new Database(file, { readonly: true });
    assert.deepEqual(other.prepare('SELECT id FROM items ORDER BY id').pluck().all(), [1, 2]);
    other.close();
  });

  it('checkpoints on the worker thread, after which the log starts again from its beginning', async () => {
    const checkpointer = createCheckpointer();
    const file = fileIn();
    const db = openSqliteDatabase(file, sqliteDefaults, { checkpointer });
    await migrate(db, migrations, 'test', Date.now);
    await db.transaction(async (tx) => {
      for (let id = 1; id <= 2000; id += 1) await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [id, 'x'.repeat(200)]);
    });
    const frames = () => {
      const probe = new Database(file);
      // A PASSIVE checkpoint with nothing to copy reports the frames in the log.
      const [row] = probe.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
      probe.close();
      return row as { log: number; checkpointed: number };
    };
    assert.ok(frames().log > 100, 'SQLite did not checkpoint on the writer (wal_autocheckpoint off)');
    await checkpointer.checkpoint(file);
    await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [5000, 'after']);
    assert.ok(frames().log <= 4, `the next commit restarted the log (${frames().log} frames)`);
    await db.close();
    await checkpointer.close();
    const other = new Database(file, { readonly: true });
    assert.equal(other.prepare('SELECT COUNT(*) FROM items').pluck().get(), 2001);
    other.close();
  });

  it('survives kill -9 between a batch’s COMMIT and its acknowledgement: every acknowledged unit whole, none half', async () => {
    const file = fileIn();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../../test/support/sqlite-held-flush-child.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged = new Set<number>();
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += String(chunk);
        for (const m of out.matchAll(/ack (\d+)\n/g)) acknowledged.add(Number(m[1]));
        if (out.includes('held\n')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before its flush was held`)));
    });
    // Batches keep committing behind the held flush; then the process dies mid-way.
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const m of out.matchAll(/ack (\d+)\n/g)) acknowledged.add(Number(m[1]));

    const db = new Database(file);
    const parts = new Map((db.prepare('SELECT unit, COUNT(*) AS n FROM items GROUP BY unit').all() as Array<{ unit: number; n: number }>).map((r) => [r.unit, r.n]));
    db.close();
    assert.ok(acknowledged.size > 0, 'some units were acknowledged before the flush was held');
    const missing = [...acknowledged].filter((unit) => parts.get(unit) !== 3);
    assert.deepEqual(missing, [], 'every acknowledged unit is there, whole');
    const half = [...parts].filter(([, n]) => n !== 3);
    assert.deepEqual(half, [], 'no unit is half there');
    assert.ok(parts.size > acknowledged.size, `units committed but never acknowledged were killed in flight (${parts.size} present, ${acknowledged.size} acknowledged)`);
  });
});
