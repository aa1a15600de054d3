import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sweepIdentityPeriodically } from '../../../src/identity/index.js';
import { systemClock } from '../../../src/platform/clock.js';
import type { Storage } from '../../../src/platform/db/index.js';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const maxOpenTenants = 4;
const tenantIds = Array.from({ length: 10 }, (_, i) => `clinic-${i}`);

/**
 * Many tenants on one node: the server keeps at most `storage.maxOpenTenants` tenant data sets
 * open; the others close and reopen on demand, their data, audit chain and keys intact.
 */
for (const engine of engines()) {
  describe(`many tenants on one node [${engine}]`, () => {
    let t: TestApp;
    const keys = new Map<string, string>();
    const patients = new Map<string, string>();

    before(async () => {
      t = await startTestApp(engine, { storage: { maxOpenTenants } });
      for (const id of tenantIds) keys.set(id, await t.tenant(id));
    });
    after(() => t.close());

    it('serves more tenants than the open set holds, never holding more open', async () => {
      let most = 0;
      for (const id of tenantIds) {
        const created = await t.inject({ method: 'POST', url: `/tenants/${id}/fhir/Patient`, key: keys.get(id), body: patient({ name: [{ family: `Family ${id}` }] }) });
        assert.equal(created.statusCode, 201, created.body);
        patients.set(id, json(created)['id']);
        most = Math.max(most, t.app.storage.openTenants());
        const obs = await t.inject({ method: 'POST', url: `/tenants/${id}/fhir/Observation`, key: keys.get(id), body: observation(patients.get(id) as string) });
        assert.equal(obs.statusCode, 201, obs.body);
        most = Math.max(most, t.app.storage.openTenants());
      }
      assert.ok(most <= maxOpenTenants, `at most ${maxOpenTenants} open, saw ${most}`);
    });

    it('a tenant closed and opened again reads its sealed records, and its audit chain continues intact', async () => {
      // clinic-0 has long left the open set (nine tenants came after it).
      const first = tenantIds[0] as string;
      const read = await t.inject({ method: 'GET', url: `/tenants/${first}/fhir/Patient/${patients.get(first)}`, key: keys.get(first) });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(json(read)['name'][0]['family'], `Family ${first}`, 'the data key was unwrapped again after the close dropped it');
      // Concurrent requests over every tenant, twice the bound at once.
      const answers = await Promise.all(
        tenantIds.map((id) => t.inject({ method: 'GET', url: `/tenants/${id}/fhir/Observation?patient=${patients.get(id)}`, key: keys.get(id) })),
      );
      for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);
      assert.ok(t.app.storage.openTenants() <= maxOpenTenants);
      for (const id of tenantIds) {
        const report = await t.app.audit.verify(id);
        assert.deepEqual(report.findings, [], `${id}: the chain verifies across closes and reopens`);
        // Two creates and a search (each audited) per tenant at least.
        assert.ok(report.events >= 3, `${id}: ${report.events} events`);
      }
    });

    it('a slow write on one tenant completes and commits while many others are touched', async () => {
      const slowTenant = tenantIds[1] as string;
      const db = await t.app.storage.tenant(slowTenant);
      let proceed!: () => void;
      const gate = new Promise<void>((resolve) => (proceed = resolve));
      let started!: () => void;
      const inside = new Promise<void>((resolve) => (started = resolve));
      const write = db.transaction(async (tx) => {
        await tx.execute(`UPDATE ${tx.table('resources')} SET sort_date = ? WHERE id = ?`, [424242, patients.get(slowTenant) as string]);
        started();
        await gate;
        return 'done';
      });
      await inside;
      for (const id of tenantIds.filter((x) => x !== slowTenant)) {
        const answer = await t.inject({ method: 'GET', url: `/tenants/${id}/fhir/Patient/${patients.get(id)}`, key: keys.get(id) });
        assert.equal(answer.statusCode, 200);
      }
      proceed();
      assert.equal(await write, 'done');
      const rows = await db.query<{ sort_date: number }>(`SELECT sort_date FROM ${db.table('resources')} WHERE id = ?`, [patients.get(slowTenant) as string]);
      assert.equal(Number(rows[0]?.sort_date), 424242, 'the slow write committed');
      const after = await t.inject({ method: 'GET', url: `/tenants/${slowTenant}/fhir/Patient/${patients.get(slowTenant)}`, key: keys.get(slowTenant) });
      assert.equal(after.statusCode, 200);
    });

    it('a background job walks every tenant one at a time, leaving open only what requests use', async () => {
      const storage = t.app.storage;
      const openBefore = storage.openTenants();
      let most = 0;
      const visited: string[] = [];
      // The real job, over a storage that reports how many data sets are open inside each visit.
      const watched: Storage = {
        ...storage,
        tenant: (id, options) => storage.tenant(id, options),
        visitTenant: (id, fn) =>
          storage.visitTenant(id, async (db) => {
            visited.push(id);
            most = Math.max(most, storage.openTenants());
            return fn(db);
          }),
      };
      const job = sweepIdentityPeriodically(watched, async () => tenantIds, systemClock, 15, 1000, undefined, 0);
      for (let waited = 0; visited.length < tenantIds.length && waited < 20_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      await job.stop();
      assert.deepEqual(visited, tenantIds, 'every tenant visited');
      assert.ok(most <= Math.min(maxOpenTenants, openBefore + 1), `one visited data set at a time next to those in use: ${most} open, ${openBefore} before`);
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(storage.openTenants() <= openBefore, 'the walk left no data set open behind it');
    });
  });

  describe(`audit checkpoints of many tenants [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(engine, { storage: { maxOpenTenants }, audit: { checkpointSeconds: 1 } });
    });
    after(() => t.close());

    it('the checkpoint timer visits each tenant with new events without pushing the tenant in use out', async () => {
      const ids = tenantIds.slice(0, 8);
      const keyOf = new Map<string, string>();
      for (const id of ids) keyOf.set(id, await t.tenant(id));
      for (const id of ids) assert.equal((await t.inject({ method: 'POST', url: `/tenants/${id}/fhir/Patient`, key: keyOf.get(id), body: patient() })).statusCode, 201);
      const hot = ids[ids.length - 1] as string;
      const closed: string[] = [];
      t.app.storage.onTenantClosed((id) => closed.push(id));
      const checkpointed = () => ids.filter((id) => existsSync(join(t.dataDir, 'audit-checkpoints', `${id}.jsonl`)));
      for (let waited = 0; checkpointed().length < ids.length && waited < 20_000; waited += 50) {
        // The hot tenant stays in use meanwhile.
        assert.equal((await t.inject({ method: 'GET', url: `/tenants/${hot}/fhir/Patient?_count=1`, key: keyOf.get(hot) })).statusCode, 200);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(checkpointed(), ids, 'every tenant with events got its signed checkpoint');
      assert.ok(!closed.includes(hot), `the tenant in use stayed open (closed meanwhile: ${closed.join(', ')})`);
      assert.ok(t.app.storage.openTenants() <= maxOpenTenants);
    });
  });
}
