import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { operatorEvent } from '../../../src/audit/index.js';
import { engines, json, patient, startTestApp, type EngineName, type TestApp } from '../../support/harness.js';

/**
 * Holds a tenant's audit chain the way another process appending to it does: PostgreSQL, a
 * transaction holding the chain head's row lock; SQLite, a connection holding the tenant file's
 * write lock (one writer per file). Resolves to a function that lets go.
 */
async function holdChain(engine: EngineName, t: TestApp, tenantId: string): Promise<() => Promise<void>> {
  if (engine === 'postgres') {
    const client = new pg.Client({ connectionString: process.env['TRESOR_TEST_PG_URL'] });
    await client.connect();
    const db = await t.app.storage.tenant(tenantId);
    await client.query('BEGIN');
    await client.query(`SELECT seq FROM ${db.table('audit_head')} WHERE id = 1 FOR UPDATE`);
    return async () => {
      await client.query('ROLLBACK');
      await client.end();
    };
  }
  const other = new Database(join(t.dataDir, 'tenants', `${tenantId}.db`));
  other.exec('BEGIN IMMEDIATE');
  return async () => {
    other.exec('ROLLBACK');
    other.close();
  };
}

for (const engine of engines()) {
  describe(`audit appends of one tenant do not hold up another [${engine}]`, () => {
    let t: TestApp;
    let busy: string;
    let calm: string;
    const create = (tenant: string, key: string, family: string) => t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient({ name: [{ family }] }) });

    before(async () => {
      t = await startTestApp(engine);
      busy = await t.tenant('busy');
      calm = await t.tenant('calm');
    });
    after(() => t.close());

    it('while another process holds one tenant’s chain, other tenants are served at once and nothing is lost', async () => {
      const busyId = json(await create('busy', busy, 'Busy'))['id'] as string;
      const calmId = json(await create('calm', calm, 'Calm'))['id'] as string;
      await t.app.audit.settle('busy'); // the chain's head row exists from the first append
      const release = await holdChain(engine, t, 'busy');
      let busyAnswered = false;
      let busyRead: Promise<number>;
      try {
        busyRead = t.inject({ method: 'GET', url: `/tenants/busy/fhir/Patient/${busyId}`, key: busy }).then((r) => ((busyAnswered = true), r.statusCode));
        if (engine === 'postgres') {
          // A write commits its events without the chain's head: it is not held up either.
          assert.equal((await create('busy', busy, 'Written')).statusCode, 201);
        }
        for (let i = 0; i < 5; i += 1) {
          assert.equal((await create('calm', calm, `Calm${i}`)).statusCode, 201);
          assert.equal((await t.inject({ method: 'GET', url: `/tenants/calm/fhir/Patient/${calmId}`, key: calm })).statusCode, 200);
          assert.equal((await t.inject({ method: 'GET', url: '/tenants/calm/fhir/Patient?name=Calm1', key: calm })).statusCode, 200);
        }
        if (engine === 'postgres') {
          // A read commits its event as pending too, so it is not held up either.
          assert.equal(busyAnswered, true, 'the busy tenant’s read commits its event without the chain’s head');
        } else {
          assert.equal(busyAnswered, false, 'the busy tenant’s read waits for its own chain, and only it does');
        }
      } finally {
        await release();
      }
      assert.equal(await busyRead, 200, 'answered once the chain is free');
      for (const tenant of ["busy", "calm"]) assert.deepEqual((await t.app.audit.verify(tenant)).findings, [], tenant);
      const busyEvents = await t.app.audit.query('busy', { count: 100 });
      assert.deepEqual(
        busyEvents.map((e) => e.action).sort(),
        (engine === 'postgres' ? ['record.created', 'record.created', 'record.read'] : ['record.created', 'record.read']).sort(),
      );
    });

    it('chains a write’s events right after its commit, without anyone asking', async () => {
      const db = await t.app.storage.tenant('calm');
      const head = async () => Number((await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('audit_head')} WHERE id = 1`))[0]?.seq);
      const before = await head();
      assert.equal((await create('calm', calm, 'Later')).statusCode, 201);
      const deadline = Date.now() + 2000;
      while ((await head()) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await head(), before + 1);
    });

    it('chains a backlog left pending by a crashed process, oldest first, over several appends', { skip: engine !== 'postgres' && 'SQLite chains inside the writer’s transaction' }, async () => {
      await t.tenant('crashed');
      const db = await t.app.storage.tenant('crashed');
      // What a process leaves when it dies between its writes' commits and their chaining.
      const event = (n: number) => JSON.stringify(operatorEvent('record.read', { id: 'key:gone', role: 'reader', client: 'crashed' }, { detail: `n${n}` }));
      for (let start = 0; start < 2500; start += 500) {
        const part = Array.from({ length: 500 }, (_, i) => start + i);
        await db.execute(`INSERT INTO ${db.table('audit_pending')} (at, event) VALUES ${part.map(() => '(?, ?)').join(', ')}`, part.flatMap((n) => [Date.now(), event(n)]));
      }
      await t.app.audit.settle('crashed');
      const events = await t.app.audit.query('crashed', { count: 1000 });
      assert.equal(events[0]?.seq, 2500);
      assert.deepEqual(events.slice(0, 3).map((e) => e.detail), ['n2499', 'n2498', 'n2497'], 'in the order they were written');
      assert.equal((await db.query(`SELECT id FROM ${db.table('audit_pending')}`)).length, 0);
      assert.deepEqual((await t.app.audit.verify('crashed')).findings, []);
    });
  });
}
