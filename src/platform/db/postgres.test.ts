import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testPostgres } from '../../../test/support/harness.js';
import { StorageError } from './errors.js';
import { createPostgresPool, openPostgresDatabase, preparedCount } from './postgres.js';

const { skip, requirePg } = testPostgres();

describe('PostgreSQL connections lost mid-transaction (a failover)', { skip }, () => {
  let pool: pg.Pool;
  let admin: pg.Client;
  before(async () => {
    pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 2, statementTimeoutMs: 5000 });
    admin = new pg.Client({ connectionString: requirePg('connection tests') });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await pool.end();
  });

  it('a server that ends the session between two statements of a transaction: the process lives, the caller gets a retryable 503, the pool recovers', async () => {
    const db = openPostgresDatabase(pool, 'public');
    const outcome = await db
      .transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const pid = row!.pid;
        // The server's FATAL arrives while no query is running on this connection (the same as
        // "terminating connection due to unexpected postmaster exit" when a primary dies):
        // without a listener for it, Node ends the whole process.
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tx.query('SELECT 1 AS one');
      })
      .then(
        () => 'committed',
        (error: unknown) => error,
      );
    assert.ok(outcome instanceof StorageError, `a storage error, not ${String(outcome)}`);
    assert.equal(outcome.status, 503);
    // The lost connection was destroyed, not handed back: the next work succeeds.
    assert.deepEqual(await db.transaction((tx) => tx.query<{ one: number }>('SELECT 1 AS one')), [{ one: 1 }]);
    assert.deepEqual(await db.query<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }]);
  });
});

describe('PostgreSQL statement preparation and the pool', { skip }, () => {
  let admin: pg.Client;
  before(async () => {
    admin = new pg.Client({ connectionString: requirePg('connection tests') });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
  });

  const serverPrepared = async (client: pg.PoolClient) => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_prepared_statements')).rows[0]?.n);

  it('keeps at most the configured number of statements prepared per connection, dropping the least recently used on the server too', async () => {
    const pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 1, statementTimeoutMs: 5000 });
    try {
      const db = openPostgresDatabase(pool, 'public', { preparedStatements: 3 });
      for (let n = 1; n <= 6; n += 1) assert.deepEqual(await db.query<{ v: number }>(`SELECT ?::int + ${n} AS v`, [1]), [{ v: n + 1 }]);
      // The first one again: evicted earlier, prepared anew, and still answers right.
      assert.deepEqual(await db.query<{ v: number }>('SELECT ?::int + 1 AS v', [41]), [{ v: 42 }]);
      const client = await pool.connect();
      try {
        assert.equal(preparedCount(client), 3);
        assert.equal(await serverPrepared(client), 3);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });

  it('statements evicting each other while still on their way (pipelined in one transaction) all answer right', async () => {
    const pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 1, statementTimeoutMs: 5000 });
    try {
      const db = openPostgresDatabase(pool, 'public', { preparedStatements: 1 });
      const sums = await db.transaction((tx) => Promise.all(Array.from({ length: 12 }, (_, n) => tx.query<{ v: number }>(`SELECT ?::int + ${n % 3} AS v`, [n]))));
      assert.deepEqual(
        sums.map((rows) => rows[0]?.v),
        Array.from({ length: 12 }, (_, n) => n + (n % 3)),
      );
      // And again, outside the transaction, on the same connection.
      for (let n = 0; n < 6; n += 1) assert.deepEqual(await db.query<{ v: number }>(`SELECT ?::int + ${n % 3} AS v`, [n]), [{ v: n + (n % 3) }]);
      const client = await pool.connect();
      try {
        assert.equal(await serverPrepared(client), 1);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });

  it('prepares statements again on a new connection after the old one was lost (a failover)', async () => {
    const pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 1, statementTimeoutMs: 5000 });
    try {
      const db = openPostgresDatabase(pool, 'public');
      const sql = 'SELECT ?::int * 2 AS v, pg_backend_pid() AS pid';
      const [first] = await db.query<{ v: number; pid: number }>(sql, [21]);
      assert.equal(first?.v, 42);
      await admin.query('SELECT pg_terminate_backend($1)', [first?.pid]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The next call may meet the dead connection (a retryable 503); after it, the statement
      // runs on a fresh connection that never saw it prepared.
      let again: { v: number; pid: number } | undefined;
      for (let attempt = 0; attempt < 3 && again === undefined; attempt += 1) {
        again = await db.query<{ v: number; pid: number }>(sql, [21]).then(
          (rows) => rows[0],
          (error: unknown) => {
            assert.ok(error instanceof StorageError && error.status === 503, `a retryable 503, not ${String(error)}`);
            return undefined;
          },
        );
      }
      assert.equal(again?.v, 42);
      assert.notEqual(again?.pid, first?.pid);
    } finally {
      await pool.end();
    }
  });

  it('a request that finds every connection busy gets a retryable 503 after the connect timeout, not an endless wait', async () => {
    const pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 1, statementTimeoutMs: 5000, connectTimeoutMs: 300 });
    try {
      const db = openPostgresDatabase(pool, 'public');
      let release = () => {};
      const held = db.transaction(async (tx) => {
        await tx.query('SELECT 1 AS one');
        await new Promise<void>((resolve) => (release = resolve));
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const attempt of [() => db.query('SELECT ?::int AS one', [1]), () => db.transaction((tx) => tx.query('SELECT 1 AS one'))]) {
        const outcome = await attempt().then(
          () => 'answered',
          (error: unknown) => error,
        );
        assert.ok(outcome instanceof StorageError, `a storage error, not ${String(outcome)}`);
        assert.equal(outcome.status, 503);
        assert.equal(outcome.code, 'storage-unavailable');
      }
      release();
      await held;
      assert.deepEqual(await db.query<{ one: number }>('SELECT ?::int AS one', [1]), [{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('statements sent together in a transaction: a failure in the middle leaves nothing of it, and the connection serves the next one', async () => {
    const pool = createPostgresPool({ url: requirePg('connection tests'), poolSize: 1, statementTimeoutMs: 5000 });
    const table = `pipelined_${process.pid}`;
    try {
      const db = openPostgresDatabase(pool, 'public');
      await db.execute(`CREATE TABLE ${table} (id INT PRIMARY KEY)`);
      const outcome = await db
        .transaction((tx) => Promise.all([tx.execute(`INSERT INTO ${table} (id) VALUES (?)`, [1]), tx.execute(`INSERT INTO ${table} (id) VALUES (?)`, [1]), tx.execute(`INSERT INTO ${table} (id) VALUES (?)`, [2])]))
        .then(
          () => 'committed',
          (error: unknown) => (error as { code?: string }).code,
        );
      assert.equal(outcome, '23505');
      assert.deepEqual(await db.query(`SELECT id FROM ${table}`), []);
      await db.transaction((tx) => Promise.all([tx.execute(`INSERT INTO ${table} (id) VALUES (?)`, [1]), tx.execute(`INSERT INTO ${table} (id) VALUES (?)`, [2])]));
      assert.deepEqual(await db.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`), [{ id: 1 }, { id: 2 }]);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await pool.end();
    }
  });
});

describe('PostgreSQL pool: connections replaced after connectionMaxUses checkouts', { skip }, () => {
  it('a connection serves at most the configured number of checkouts, then a new backend takes over', async () => {
    const pool = createPostgresPool({ url: requirePg('pool tests'), poolSize: 1, statementTimeoutMs: 5000, connectionMaxUses: 3 });
    try {
      const db = openPostgresDatabase(pool, 'public');
      const pids: number[] = [];
      for (let i = 0; i < 7; i++) pids.push((await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid);
      // Its catalog cache goes with the backend: three uses each, never more.
      assert.equal(new Set(pids.slice(0, 3)).size, 1);
      assert.notEqual(pids[3], pids[0]);
      assert.equal(new Set(pids).size, 3);
    } finally {
      await pool.end();
    }
  });
});
