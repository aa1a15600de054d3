import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { testPostgres } from '../../test/support/harness.js';
import { createPostgresPool } from './db/postgres.js';
import { advisoryKey, postgresLeadership, singleNode } from './leadership.js';
import { periodic } from './periodic.js';

const { skip, requirePg } = testPostgres();

describe('leadership', () => {
  it('on SQLite: the one node always leads', async () => {
    const one = singleNode();
    assert.equal(await one.held(), true);
    assert.equal(one.leading, true);
  });

  it('derives a 64-bit advisory key per deployment name, the same in every version (nodes of a rolling upgrade must contend for one lock)', () => {
    // The first 8 bytes of SHA-256("tresor leadership <name>") as a signed big-endian integer, computed apart from this code.
    assert.equal(advisoryKey('tresor'), '3729992388039257375');
    assert.equal(advisoryKey('tresor_b'), '-8992837627175374234');
  });

  it('runs a periodic round only while this node leads', async () => {
    let lead = false;
    let rounds = 0;
    const job = periodic(async () => void (rounds += 1), 5, 0, { held: async () => lead, leading: false, close: async () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(rounds, 0, 'a follower runs nothing');
    lead = true;
    await new Promise((resolve) => setTimeout(resolve, 40));
    await job.stop();
    assert.ok(rounds > 0, 'the leader runs its rounds');
  });
});

describe('leadership on PostgreSQL (an advisory lock)', { skip }, () => {
  let pool: pg.Pool;
  let other: pg.Pool;
  before(() => {
    const url = requirePg('leadership on PostgreSQL');
    // Two pools: two nodes.
    pool = createPostgresPool({ url, poolSize: 4, statementTimeoutMs: 10_000 });
    other = createPostgresPool({ url, poolSize: 4, statementTimeoutMs: 10_000 });
  });
  after(async () => {
    await pool?.end();
    await other?.end();
  });

  it('one node leads at a time; when it stops, another takes over; deployments do not share a leader', async () => {
    const name = `t${randomBytes(4).toString('hex')}`;
    const a = postgresLeadership(pool, name);
    const b = postgresLeadership(other, name);
    const c = postgresLeadership(other, `${name}_other`);
    assert.equal(await a.held(), true);
    assert.equal(await b.held(), false);
    assert.equal(await a.held(), true, 'kept');
    assert.equal(await c.held(), true, 'another deployment has its own leader');
    await a.close();
    assert.equal(await b.held(), true, 'taken over');
    assert.equal(await a.held(), false, 'a closed leadership never leads again');
    await b.close();
    await c.close();
  });

  it('a leader whose connection is cut (a crash, a failover) loses the lead, and the other node takes it', async () => {
    const name = `t${randomBytes(4).toString('hex')}`;
    const a = postgresLeadership(pool, name);
    const b = postgresLeadership(other, name);
    assert.equal(await a.held(), true);
    assert.equal(await b.held(), false);
    // The server ends the leader's session, as a primary that goes away does.
    const key = advisoryKey(name);
    const holder = await other.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)", [key]);
    assert.equal(holder.rows.length, 1, 'the lock is held by one session');
    await other.query('SELECT pg_terminate_backend($1)', [holder.rows[0]?.pid]);
    // pg_terminate_backend only signals: the backend exits, and its locks go, a moment later
    // (seconds on a loaded machine). The other node takes the lead at one of its next rounds.
    const deadline = Date.now() + 15_000;
    let taken = await b.held();
    while (!taken && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      taken = await b.held();
    }
    assert.equal(taken, true, 'the lock went with the session');
    assert.equal(await a.held(), false, 'the old leader notices');
    assert.equal(a.leading, false);
    await a.close();
    await b.close();
  });
});
