import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tresorHere } from '../../support/cli.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const fhir = '/tenants/clinic/fhir';
const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };

/**
 * Integrity: stored data changed behind Tresor's back. The damage is done to the data set or the
 * checkpoint directory as an intruder with disk access would; the product notices it on the
 * paths it already has (a read, a verification, a checkpoint), records an event, and the
 * detection engine raises the alert — with ids and counts, never the contents.
 */
for (const engine of engines()) {
  describe(`detection: integrity [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const evaluate = () => t.app.detection?.evaluate('clinic');
    const alertsOf = (rule: string) => t.app.alerts.list('clinic', { rule });

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('integrity.sealed-field: a tampered sealed record answers 500, is recorded as record.integrity_failed and raises one critical alert; intact reads raise none', async () => {
      const created = await t.inject({ method: 'POST', url: `${fhir}/Patient`, key, body: patient() });
      const patientId = json(created)['id'] as string;
      const obs = await t.inject({ method: 'POST', url: `${fhir}/Observation`, key, body: observation(patientId, { valueQuantity: undefined, valueString: 'tamper-proof finding' }) });
      const obsId = json(obs)['id'] as string;
      assert.equal((await t.inject({ method: 'GET', url: `${fhir}/Observation/${obsId}`, key })).statusCode, 200);
      await evaluate();
      assert.equal((await alertsOf('integrity.sealed-field')).length, 0, 'an intact read');

      // Flip one character of the stored ciphertext, as a person with the database would.
      const db = await t.app.storage.tenant('clinic');
      const [row] = await db.query<{ sealed: string }>(`SELECT sealed FROM ${db.table('resources')} WHERE resource_type = ? AND id = ?`, ['Observation', obsId]);
      const envelopes = JSON.parse(row?.sealed as string) as string[];
      const value = envelopes[0] as string;
      const flipped = `${value.slice(0, -5)}${value.at(-5) === 'A' ? 'B' : 'A'}${value.slice(-4)}`;
      await db.execute(`UPDATE ${db.table('resources')} SET sealed = ? WHERE resource_type = ? AND id = ?`, [JSON.stringify([flipped, ...envelopes.slice(1)]), 'Observation', obsId]);

      const read = await t.inject({ method: 'GET', url: `${fhir}/Observation/${obsId}`, key });
      assert.equal(read.statusCode, 500, 'the request still fails as before');
      assert.equal(errorCode(read), 'integrity-failed');
      const search = await t.inject({ method: 'GET', url: `${fhir}/Observation?patient=${patientId}`, key });
      assert.equal(search.statusCode, 500, 'a search that meets the record fails the same way');
      const [recorded] = await t.app.audit.query('clinic', { count: 5, actions: ['record.integrity_failed'] });
      assert.deepEqual(recorded?.resources, [`Observation/${obsId}/_history/1`], 'the version that failed, found by a search too');
      assert.deepEqual(recorded?.subjects, [`Patient/${patientId}`]);
      assert.equal(recorded?.outcome, 'failure');

      await evaluate();
      const [alert, ...others] = await alertsOf('integrity.sealed-field');
      assert.equal(others.length, 0);
      assert.equal(alert?.subject, `Observation/${obsId}`);
      assert.equal(alert?.severity, 'critical');
      assert.equal(alert?.count, 2, 'the read and the search');
      const detail = await t.app.alerts.get('clinic', alert?.id as string);
      assert.deepEqual(detail.events.map((e) => e.action), ['record.integrity_failed', 'record.integrity_failed']);
      assert.ok(!JSON.stringify(detail).includes('tamper-proof'), 'never the contents');
    });

    it('audit.chain-findings: an edited audit event found by the daily prune’s verification is recorded with its kinds and counts and raises one critical alert; a clean verification raises none', async () => {
      assert.equal((await t.app.audit.verify('clinic')).findings.length, 0);
      await evaluate();
      assert.equal((await alertsOf('audit.chain-findings')).length, 0, 'a clean chain');
      assert.equal((await t.app.audit.query('clinic', { count: 5, actions: ['audit.verify_failed'] })).length, 0);

      const db = await t.app.storage.tenant('clinic');
      const [target] = await db.query<{ seq: number | string; actor_id: string }>(`SELECT seq, actor_id FROM ${db.table('audit_events')} WHERE action = 'record.read' ORDER BY seq LIMIT 1`);
      await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = 'someone-else' WHERE seq = ?`, [Number(target?.seq)]);
      const pruned = await t.app.audit.prune('clinic', operator);
      assert.ok((pruned.refused?.length ?? 0) > 0, 'the prune verifies first and refuses');
      const [recorded] = await t.app.audit.query('clinic', { count: 5, actions: ['audit.verify_failed'] });
      assert.match(recorded?.detail ?? '', /^(modified|moved|missing|extra|truncated|checkpoint) \d+/);
      assert.equal(recorded?.outcome, 'failure');

      await evaluate();
      const [alert, ...others] = await alertsOf('audit.chain-findings');
      assert.equal(others.length, 0);
      assert.equal(alert?.subject, 'audit:clinic');
      assert.equal(alert?.severity, 'critical');
      assert.deepEqual((await t.app.alerts.get('clinic', alert?.id as string)).events.map((e) => e.action), ['audit.verify_failed']);
      // Put the event back: the chain verifies again, for the tests after this one.
      await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = ? WHERE seq = ?`, [target?.actor_id ?? '', Number(target?.seq)]);
    });

    it('audit.chain-findings: `tresor audit verify` beside the running server records its findings too', { skip: engine === 'postgres' ? 'the CLI reaches this test’s PostgreSQL schemas only through a config file' : false }, async () => {
      const db = await t.app.storage.tenant('clinic');
      const before = (await t.app.audit.query('clinic', { count: 50, actions: ['audit.verify_failed'] })).length;
      const [target] = await db.query<{ seq: number | string; detail: string }>(`SELECT seq, detail FROM ${db.table('audit_events')} WHERE action = 'record.created' ORDER BY seq LIMIT 1`);
      await db.execute(`UPDATE ${db.table('audit_events')} SET detail = 'edited' WHERE seq = ?`, [Number(target?.seq)]);
      const verified = await tresorHere(['audit', 'verify', '--tenant', 'clinic', '--data-dir', t.dataDir]);
      assert.equal(verified.code, 1, verified.stdout);
      assert.equal((await t.app.audit.query('clinic', { count: 50, actions: ['audit.verify_failed'] })).length, before + 1);
      await db.execute(`UPDATE ${db.table('audit_events')} SET detail = ? WHERE seq = ?`, [target?.detail ?? '', Number(target?.seq)]);
    });
  });

  describe(`detection: audit checkpoints failing [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let dir: string;

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      dir = join(t.dataDir, 'audit-checkpoints');
    });
    after(async () => {
      // Writable again, so that closing can checkpoint.
      if (existsSync(dir) && !existsSync(join(dir, 'clinic.jsonl'))) rmSync(dir, { force: true, recursive: true });
      mkdirSync(dir, { recursive: true });
      await t.close();
    });

    /** The checkpoint directory replaced by a file: unwritable whoever the server runs as (root ignores permission bits). */
    const breakDir = () => {
      if (existsSync(dir)) renameSync(dir, `${dir}.saved`);
      writeFileSync(dir, 'not a directory');
    };
    const mendDir = () => {
      rmSync(dir, { force: true });
      if (existsSync(`${dir}.saved`)) renameSync(`${dir}.saved`, dir);
    };
    const failures = async () => t.app.audit.query('clinic', { count: 50, actions: ['audit.checkpoint_failed'] });
    const write = () => t.inject({ method: 'POST', url: `${fhir}/Patient`, key, body: patient() });

    it('audit.checkpoint-failing: a failing streak is recorded once and raises one high alert; checkpoints that work raise none', async () => {
      assert.equal((await write()).statusCode, 201);
      assert.notEqual(await t.app.audit.checkpoint('clinic'), undefined, 'a working checkpoint');
      await t.app.detection?.evaluate('clinic');
      assert.equal((await t.app.alerts.list('clinic', { rule: 'audit.checkpoint-failing' })).length, 0);

      breakDir();
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await write()).statusCode, 201, 'requests go on: the trail still takes events');
        await assert.rejects(t.app.audit.checkpoint('clinic'));
      }
      const streak = await failures();
      assert.equal(streak.length, 1, 'once per streak, not per attempt');
      assert.match(streak[0]?.detail ?? '', /^[A-Z]+$/, 'an error code, e.g. ENOTDIR or EACCES');

      await t.app.detection?.evaluate('clinic');
      const [alert, ...others] = await t.app.alerts.list('clinic', { rule: 'audit.checkpoint-failing' });
      assert.equal(others.length, 0);
      assert.equal(alert?.severity, 'high');
      assert.equal(alert?.subject, 'audit-checkpoints:clinic');

      mendDir();
      assert.equal((await write()).statusCode, 201);
      assert.notEqual(await t.app.audit.checkpoint('clinic'), undefined, 'the streak ends');
      breakDir();
      assert.equal((await write()).statusCode, 201);
      await assert.rejects(t.app.audit.checkpoint('clinic'));
      assert.equal((await failures()).length, 2, 'a new streak is recorded again');
      mendDir();
    });
  });
}
