import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { moveDepsOf } from '../../../src/app.js';
import { operatorEvent } from '../../../src/audit/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { moveTenant, MoveRefused } from '../../../src/regions/index.js';
import { tresorHere } from '../../support/cli.js';
import { dropPgSchemas, engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator } from '../../support/people.js';

/**
 * Moving a tenant between regions on PostgreSQL: region B is a schema prefix of its own (in the
 * test cluster's database; in production its own server), as in residency-postgres.test.ts. Two
 * server nodes share the deployment. The CLI moves one tenant while the servers run, the operator
 * API another while a second node writes to it; a failure before the switch leaves the source
 * authoritative.
 */
for (const engine of engines().filter((e) => e === 'postgres')) {
  describe(`moving a tenant between regions [${engine}]`, () => {
    let t: TestApp;
    let node2: TestApp;
    let dirB: string;
    let configFile: string;
    const prefixB = `r${randomBytes(5).toString('hex')}`;
    const url = process.env['TRESOR_TEST_PG_URL'] as string;
    const clock = fixedClock(new Date('2026-12-07T12:00:10Z'));
    let client: pg.Client;
    const schemas = async (name: string) => (await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = $1', [name])).rows.length;
    const keysOf = async (prefix: string, tenant: string) => Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${prefix}_keys".tenant_keys WHERE tenant_id = $1`, [tenant])).rows[0]?.n);
    const settle = () => new Promise((resolve) => setTimeout(resolve, 1200));

    before(async () => {
      dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
      const regions = { b: { dataDir: dirB, postgres: { url, schemaPrefix: prefixB } } };
      t = await startTestApp(engine, { regions }, { clock });
      node2 = await startTestApp(engine, { dataDir: t.dataDir, regions }, { clock }, { joins: t.schemaPrefix });
      client = new pg.Client({ connectionString: url });
      await client.connect();
      configFile = join(t.dataDir, 'cli.json');
      writeFileSync(
        configFile,
        JSON.stringify({ dataDir: t.dataDir, storage: { engine: 'postgres', postgres: { url, schemaPrefix: t.schemaPrefix } }, regions, log: { level: 'silent' }, detection: { enabled: false }, fim: { enabled: false } }),
      );
    });
    after(async () => {
      await client?.end();
      await node2?.close();
      await t?.close();
      await dropPgSchemas(prefixB);
      rmSync(dirB, { recursive: true, force: true });
    });

    it('tresor tenant move copies the schema to region B while the servers run; they find it there', async () => {
      const key = await t.tenant('alpha');
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) ids.push(json(await t.inject({ method: 'POST', url: '/tenants/alpha/fhir/Patient', key, body: patient({ name: [{ family: `Cli${i}` }] }) }))['id'] as string);
      const started = performance.now();
      const moved = await tresorHere(['tenant', 'move', '--tenant', 'alpha', '--to', 'b', '--reason', 'customer chose region B', '--config', configFile]);
      const took = performance.now() - started;
      assert.equal(moved.code, 0, moved.stderr);
      assert.match(moved.stdout, /moved tenant alpha from region default to b/);
      console.log(`CLI move of 30 patients on PostgreSQL took ${Math.round(took)} ms (${moved.stdout.match(/answered 503 for [\d.]+ s/)?.[0] ?? ''})`);
      assert.equal(await schemas(`${prefixB}_t_alpha`), 1);
      assert.equal(await schemas(`${t.schemaPrefix}_t_alpha`), 0, 'the source schema is dropped');
      assert.equal(await keysOf(t.schemaPrefix, 'alpha'), 0, 'no key of the tenant left in the source key store');
      assert.ok((await keysOf(prefixB, 'alpha')) > 0);
      // Both nodes still had the tenant in the home region: they read the platform again.
      await settle();
      for (const node of [t, node2]) {
        const nodeKey = await node.key('alpha', 'service');
        for (const id of ids.slice(0, 3)) assert.equal((await node.inject({ method: 'GET', url: `/tenants/alpha/fhir/Patient/${id}`, key: nodeKey })).statusCode, 200);
      }
      const trail = await t.app.audit.query('alpha', { actions: ['tenant.region_moved'], count: 5 });
      assert.equal(trail[0]?.detail, 'from default to b: customer chose region B');
      assert.equal((await t.app.audit.verify('alpha')).findings.length, 0);
    });

    it('the operator API moves a tenant while another node writes to it: every acknowledged write is in the target, the rest were refused', async () => {
      const key = await t.tenant('bravo');
      for (let i = 0; i < 20; i += 1) assert.equal((await t.inject({ method: 'POST', url: '/tenants/bravo/fhir/Patient', key, body: patient() })).statusCode, 201);
      const key2 = await node2.key('bravo', 'service');
      const operator = await signInOperator(t, 'operator', 'ops@hosting.example', () => clock.now().getTime());
      let moving = true;
      // The racing writer: node 2 writing into the tenant's data set without the request check,
      // as a node would whose status was read just before the mark.
      const acknowledged: string[] = [];
      let refused = 0;
      const writer = async () => {
        for (let i = 0; moving; i += 1) {
          const detail = `race ${prefixB} ${i}`;
          try {
            await node2.app.audit.record('bravo', [operatorEvent('tenant.settings_changed', { id: 'system:race', role: 'system', client: 'test' }, { detail })]);
            acknowledged.push(detail);
          } catch {
            refused += 1;
          }
        }
      };
      const statuses: number[] = [];
      const http = async () => {
        while (moving) {
          const answer = await node2.inject({ method: 'POST', url: '/tenants/bravo/fhir/Patient', key: key2, body: patient() });
          statuses.push(answer.statusCode);
          if (answer.statusCode === 503) assert.ok(answer.headers['retry-after'] !== undefined);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      const racing = [writer(), http()];
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      const moved = await as(t, operator, { method: 'POST', url: '/platform/tenants/bravo/move', body: { to: 'b', reason: 'customer chose region B' }, headers: { 'content-type': 'application/json' } });
      const took = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
      moving = false;
      await Promise.all(racing);
      assert.equal(moved.statusCode, 200, moved.body);
      console.log(`API move on PostgreSQL took ${Math.round(took)} ms, 503 for ${json(moved)['unavailableMs']} ms; racing writer: ${acknowledged.length} acknowledged, ${refused} refused; node 2's requests: ${statuses.join(',').slice(0, 200)}`);
      assert.ok(statuses.every((s) => s === 201 || s === 503), `node 2 answered only 201 or 503: ${[...new Set(statuses)].join(', ')}`);
      assert.ok(acknowledged.length > 0, 'the racing writer wrote something');
      // Acknowledged = committed to `audit_pending` (audit.ts: the chainer moves it onto the chain
      // moments later, on whichever node writes next): chained or still pending, it is in the target.
      const chained = (await t.app.audit.query('bravo', { actions: ['tenant.settings_changed'], count: 100_000 })).map((e) => e.detail);
      const pending = (await client.query<{ event: string }>(`SELECT event FROM "${prefixB}_t_bravo".audit_pending`)).rows.map((r) => (JSON.parse(r.event) as { detail: string }).detail);
      const inTarget = new Set([...chained, ...pending]);
      const lost = acknowledged.filter((d) => !inTarget.has(d));
      assert.deepEqual(lost, [], 'no acknowledged write is lost');
      assert.equal(await schemas(`${t.schemaPrefix}_t_bravo`), 0);
      assert.equal((await t.app.tenants.get('bravo'))?.region, 'b');
      assert.equal((await t.app.audit.verify('bravo')).findings.length, 0, 'the trail (with the racing writes) verifies');
      const operators = await t.app.audit.query('operators', { actions: ['tenant.region_moved'], count: 5 });
      assert.equal(operators[0]?.actor.id, `operator:${operator.accountId}`);
    });

    it('a failure before the switch — a target key store that refuses writes, a copy that does not verify — leaves the source authoritative', async () => {
      const key = await t.tenant('charlie');
      const made = await t.inject({ method: 'POST', url: '/tenants/charlie/fhir/Patient', key, body: patient({ name: [{ family: 'Bleibt' }] }) });
      assert.equal(made.statusCode, 201);
      // The target's key store refuses the tenant's keys.
      await client.query(`CREATE FUNCTION "${prefixB}_keys".refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
      await client.query(`CREATE TRIGGER refuse BEFORE INSERT ON "${prefixB}_keys".tenant_keys FOR EACH ROW EXECUTE FUNCTION "${prefixB}_keys".refuse()`);
      try {
        await assert.rejects(moveTenant(moveDepsOf(t.app), 'charlie', 'b'), (error: unknown) => error instanceof MoveRefused && /failed/.test(error.message));
      } finally {
        await client.query(`DROP FUNCTION "${prefixB}_keys".refuse() CASCADE`);
      }
      // A copy that does not verify.
      await assert.rejects(
        moveTenant({ ...moveDepsOf(t.app), verify: async () => ['a sample did not open'] }, 'charlie', 'b'),
        (error: unknown) => error instanceof MoveRefused && /does not open/.test(error.message),
      );
      await assert.rejects(moveTenant(moveDepsOf(t.app, { beforeSwitch: async () => Promise.reject(new Error('injected')) }), 'charlie', 'b'), MoveRefused);
      assert.equal((await t.app.tenants.get('charlie'))?.region, 'default');
      assert.equal((await t.app.tenants.get('charlie'))?.movingSince, undefined, 'the mark is cleared');
      assert.equal(await schemas(`${prefixB}_t_charlie`), 0, 'the copy is dropped');
      assert.equal(await keysOf(prefixB, 'charlie'), 0, 'no key of the tenant in the target');
      assert.equal(await schemas(`${t.schemaPrefix}_t_charlie`), 1);
      assert.ok(!existsSync(join(dirB, 'audit-checkpoints', 'charlie.jsonl')));
      const read = await t.inject({ method: 'GET', url: `/tenants/charlie/fhir/Patient/${json(made)['id']}`, key });
      assert.equal(read.statusCode, 200);
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/charlie/fhir/Patient', key, body: patient() })).statusCode, 201, 'the source takes writes again');

      // A move that died after freezing the source, before the switch: --clear-mark serves it again.
      const schema = `"${t.schemaPrefix}_t_charlie"`;
      await client.query(`CREATE FUNCTION ${schema}.tresor_moved_away() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'moved' USING ERRCODE = '55000'; END $$`);
      await client.query(`CREATE TRIGGER tresor_moved_away BEFORE INSERT ON ${schema}.resources FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.tresor_moved_away()`);
      assert.ok(await t.app.tenants.markMoving('charlie'));
      const cleared = await tresorHere(['tenant', 'move', '--tenant', 'charlie', '--clear-mark', '--reason', 'the move died', '--config', configFile]);
      assert.equal(cleared.code, 0, cleared.stderr);
      await settle();
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/charlie/fhir/Patient', key, body: patient() })).statusCode, 201, 'served and writable again');
    });
  });
}
