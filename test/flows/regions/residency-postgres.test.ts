import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { dropPgSchemas, engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * Regions on PostgreSQL: region B is a schema prefix of its own (in the test cluster's database;
 * in production its own server). A tenant in B has its schema under B's prefix, its keys in B's
 * key store only, its checkpoints in B's directory.
 */
for (const engine of engines().filter((e) => e === 'postgres')) {
  describe(`a tenant in region B keeps to region B [${engine}]`, () => {
    let t: TestApp;
    let dirB: string;
    const prefixB = `r${randomBytes(5).toString('hex')}`;
    const url = process.env['TRESOR_TEST_PG_URL'] as string;
    let client: pg.Client;

    before(async () => {
      dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
      t = await startTestApp(engine, { audit: { checkpointEveryEvents: 1 }, regions: { b: { dataDir: dirB, postgres: { url, schemaPrefix: prefixB } } } });
      client = new pg.Client({ connectionString: url });
      await client.connect();
    });
    after(async () => {
      await client?.end();
      await t?.close();
      await dropPgSchemas(prefixB);
      rmSync(dirB, { recursive: true, force: true });
    });

    it('opens the data set and keys in B, and reads back', async () => {
      await t.app.tenants.create('bravo', 'Bravo', 'b');
      await t.tenant('alpha');
      const key = await t.key('bravo', 'service');
      const made = await t.inject({ method: 'POST', url: '/tenants/bravo/fhir/Patient', key, body: patient() });
      assert.equal(made.statusCode, 201, made.body);
      const read = await t.inject({ method: 'GET', url: `/tenants/bravo/fhir/Patient/${json(made)['id']}`, key });
      assert.equal(read.statusCode, 200);
      const schemas = async (like: string) => (await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [like])).rows.map((r) => r.nspname);
      assert.deepEqual(await schemas(`${prefixB}\\_t\\_%`), [`${prefixB}_t_bravo`]);
      assert.deepEqual(await schemas(`${t.schemaPrefix}\\_t\\_bravo`), []);
      assert.deepEqual(await schemas(`${prefixB}\\_platform`), [], 'no platform data set in region B');
      const keysOf = async (prefix: string, tenant: string) => Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${prefix}_keys".tenant_keys WHERE tenant_id = $1`, [tenant])).rows[0]?.n);
      assert.equal(await keysOf(t.schemaPrefix, 'bravo'), 0);
      assert.ok((await keysOf(prefixB, 'bravo')) > 0);
      assert.equal(await keysOf(prefixB, 'alpha'), 0);
      for (let i = 0; i < 200 && !existsSync(join(dirB, 'audit-checkpoints', 'bravo.jsonl')); i += 1) await new Promise((r) => setTimeout(r, 25));
      assert.ok(existsSync(join(dirB, 'audit-checkpoints', 'bravo.jsonl')));
      assert.ok(!existsSync(join(t.dataDir, 'audit-checkpoints', 'bravo.jsonl')));
    });
  });
}
