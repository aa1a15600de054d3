import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testPostgres } from '../../../test/support/harness.js';
import { StorageError } from './errors.js';
import { createPostgresPool, openPostgresDatabase } from './postgres.js';

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
