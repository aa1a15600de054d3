import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { signIn, testPassword } from '../../support/people.js';

/**
 * The detection engine over HTTP traffic: events chained by requests, evaluated afterwards by the
 * rules, stored as alerts in the realm's data set — once, however many nodes evaluate.
 */
for (const engine of engines()) {
  describe(`detection engine [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      // The background job waits a minute after appends: the tests evaluate by hand, and one test counts what its own engine evaluated.
      t = await startTestApp(engine, { detection: { wakeMs: 60_000, walkSeconds: 3600, rules: { 'auth.brute-force': { failures: 3 } } } });
      await t.tenant('clinic');
    });
    after(() => t.close());

    const login = (email: string, password: string) =>
      t.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) });

    it('raises one alert when failed sign-ins against one account cross the threshold, linked to the events, and none below it', async () => {
      const alice = await signIn(t, 'clinic', 'clinician', 'alice@clinic.example');
      const bob = await signIn(t, 'clinic', 'clinician', 'bob@clinic.example');
      await t.app.detection?.evaluate('clinic');
      for (let i = 0; i < 2; i += 1) assert.equal((await login('bob@clinic.example', `wrong ${i} guess here`)).statusCode, 401);
      await t.app.detection?.evaluate('clinic');
      assert.equal((await t.app.alerts.list('clinic', { rule: 'auth.brute-force' })).length, 0, 'two failures stay below the threshold');
      for (let i = 0; i < 4; i += 1) assert.equal((await login('alice@clinic.example', `wrong ${i} guess here`)).statusCode, 401);
      await t.app.detection?.evaluate('clinic');
      const raised = await t.app.alerts.list('clinic', { rule: 'auth.brute-force' });
      assert.equal(raised.length, 1, 'one alert, however many failures past the threshold');
      const [alert] = raised;
      assert.equal(alert?.subject, `Account/${alice.accountId}`);
      assert.equal(alert?.count, 2, 'the crossing and the failure after it');
      assert.equal(alert?.state, 'open');
      const detail = await t.app.alerts.get('clinic', alert?.id as string);
      assert.equal(detail.events.length, 4, 'linked to the failures that raised it');
      assert.ok(detail.events.every((e) => e.action === 'auth.login_failed'));
      assert.ok(!JSON.stringify(detail).includes(testPassword) && !JSON.stringify(detail).includes('alice@'), 'no password, no typed address');
      assert.ok(bob.accountId !== alice.accountId);
    });

    it('evaluates each event once: a second look, or another evaluator racing, raises nothing more', async () => {
      const before = await t.app.alerts.list('clinic', {});
      await Promise.all([t.app.detection?.evaluate('clinic'), t.app.detection?.evaluate('clinic')]);
      assert.deepEqual(await t.app.alerts.list('clinic', {}), before);
    });

    it('acknowledges and resolves with who and when, audited; a resolved alert cannot be acknowledged', async () => {
      const [alert] = await t.app.alerts.list('clinic', { rule: 'auth.brute-force' });
      const by = { actor: { id: 'account:admin', role: 'tenant-admin', client: 'session' }, requestId: 'r1', sourceIp: '127.0.0.1' };
      const acked = await t.app.alerts.acknowledge('clinic', alert?.id as string, by);
      assert.equal(acked.state, 'acknowledged');
      assert.equal(acked.acknowledgedBy, 'account:admin');
      await assert.rejects(t.app.alerts.resolve('clinic', alert?.id as string, by, '   '), { code: 'alert-invalid' });
      const resolved = await t.app.alerts.resolve('clinic', alert?.id as string, by, 'Alice mistyped; reset done.');
      assert.equal(resolved.state, 'resolved');
      await assert.rejects(t.app.alerts.acknowledge('clinic', alert?.id as string, by), { code: 'alert-state-conflict', status: 409 });
      const trail = await t.app.audit.query('clinic', { count: 10, actions: ['alert.acknowledged', 'alert.resolved'] });
      assert.deepEqual(trail.map((e) => e.action).sort(), ['alert.acknowledged', 'alert.resolved']);
      assert.ok(trail.every((e) => e.resources[0] === `Alert/${alert?.id}`));
    });

    it('keeps the window across a restart of the engine: state lives in the data set', async () => {
      const carol = await signIn(t, 'clinic', 'clinician', 'carol@clinic.example');
      assert.equal((await login('carol@clinic.example', 'wrong first guess here')).statusCode, 401);
      assert.equal((await login('carol@clinic.example', 'wrong second guess here')).statusCode, 401);
      await t.app.detection?.evaluate('clinic');
      // A fresh engine (another process, after a restart) over the same data set.
      const { createEngine, rules } = await import('../../../src/detection/index.js');
      const fresh = createEngine({ storage: t.app.storage, clock: { now: () => new Date('2026-01-01T00:10:00Z') }, rules, overrides: { 'auth.brute-force': { failures: 3 } }, operatorRealm: 'operators', store: (tx, raised) => t.app.alerts.store(tx, raised), batchEvents: 100, settle: (realm) => t.app.audit.settle(realm) });
      assert.equal((await login('carol@clinic.example', 'wrong third guess here')).statusCode, 401);
      await fresh.evaluate('clinic');
      const raised = await t.app.alerts.list('clinic', { rule: 'auth.brute-force', state: 'open' });
      assert.deepEqual(raised.map((a) => a.subject), [`Account/${carol.accountId}`]);
    });

    it('keeps no stale state in memory: once another engine moved the cursor, this one reads the states again', async () => {
      const frank = await signIn(t, 'clinic', 'clinician', 'frank@clinic.example');
      await t.app.detection?.evaluate('clinic');
      const { createEngine, rules } = await import('../../../src/detection/index.js');
      const other = createEngine({ storage: t.app.storage, clock: { now: () => new Date() }, rules, overrides: { 'auth.brute-force': { failures: 3 } }, operatorRealm: 'operators', store: (tx, raised) => t.app.alerts.store(tx, raised), batchEvents: 100, settle: (realm) => t.app.audit.settle(realm) });
      const frankAlerts = async () => (await t.app.alerts.list('clinic', { rule: 'auth.brute-force' })).filter((a) => a.subject === `Account/${frank.accountId}`);
      // One failure each, evaluated by this engine, by the other one, then by this one again: the
      // third crosses the threshold only if this engine counts the failure the other one saw.
      for (const evaluator of [t.app.detection, other, t.app.detection]) {
        assert.equal((await login('frank@clinic.example', 'wrong guess for frank')).statusCode, 401);
        assert.ok(((await evaluator?.evaluate('clinic')) ?? 0) > 0);
      }
      const raised = await frankAlerts();
      assert.equal(raised.length, 1, 'the third failure crossed the threshold');
      assert.equal(raised[0]?.count, 1);
    });

    it('links the first 100 events to an alert, however many batches join it', async () => {
      const { rules } = await import('../../../src/detection/index.js');
      const rule = rules.find((r) => r.id === 'access.denied-burst') as (typeof rules)[number];
      const db = await t.app.storage.tenant('clinic');
      const at = Date.now();
      for (let round = 0; round < 3; round += 1) {
        const evidence = Array.from({ length: 45 }, (_, i) => 10_000 + round * 45 + i);
        await db.transaction((tx) => t.app.alerts.store(tx, [{ realm: 'clinic', rule, finding: { subject: 'test:evidence-cap', summary: 'denied 45 times', evidence }, at: at + round }]));
      }
      const [alert] = (await t.app.alerts.list('clinic', { rule: rule.id })).filter((a) => a.subject === 'test:evidence-cap');
      assert.equal(alert?.count, 3, 'three findings, one alert');
      const linked = await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('alert_events')} WHERE alert_id = ? ORDER BY seq`, [alert?.id as string]);
      assert.deepEqual(
        linked.map((row) => Number(row.seq)),
        Array.from({ length: 100 }, (_, i) => 10_000 + i),
      );
    });

    it('a rule that throws is skipped for that event; the others run and the cursor moves on', async () => {
      const { createEngine, rules } = await import('../../../src/detection/index.js');
      const failures: string[] = [];
      const broken = { ...rules.find((r) => r.id === 'auth.brute-force'), id: 'test.broken', evaluate: () => { throw new Error('broken rule'); } } as unknown as (typeof rules)[number];
      const withBroken = createEngine({
        storage: t.app.storage,
        clock: { now: () => new Date('2026-01-01T01:00:00Z') },
        rules: [broken, ...rules],
        overrides: { 'auth.brute-force': { failures: 1 } },
        operatorRealm: 'operators',
        store: (tx, raised) => t.app.alerts.store(tx, raised),
        batchEvents: 100,
        settle: (realm) => t.app.audit.settle(realm),
        metrics: { evaluated: () => undefined, ruleFailed: (id) => failures.push(id), lag: () => undefined },
      });
      await withBroken.evaluate('clinic');
      const dave = await signIn(t, 'clinic', 'clinician', 'dave@clinic.example');
      assert.equal((await login('dave@clinic.example', 'wrong guess for dave')).statusCode, 401);
      assert.ok((await withBroken.evaluate('clinic')) > 0);
      assert.ok(failures.includes('test.broken'));
      assert.ok((await t.app.alerts.list('clinic', { rule: 'auth.brute-force' })).some((a) => a.subject === `Account/${dave.accountId}`));
    });

    it('refuses thresholds for a rule that does not exist, or of the wrong type', async () => {
      const { ruleConfigs, rules } = await import('../../../src/detection/index.js');
      assert.throws(() => ruleConfigs(rules, { 'no.such-rule': { x: 1 } }), { code: 'rules-config-invalid' });
      assert.throws(() => ruleConfigs(rules, { 'auth.brute-force': { failures: 'ten' } }), { code: 'rules-config-invalid' });
      assert.throws(() => ruleConfigs(rules, { 'auth.brute-force': { nonsense: 1 } }), { code: 'rules-config-invalid' });
    });
  });
}

if (engines().includes('postgres')) {
  describe('detection on two PostgreSQL nodes', () => {
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      // One clock for both nodes, as NTP would give them.
      const clock = { now: () => new Date(Date.parse('2026-03-01T09:00:00Z') + (ticks += 1)) };
      let ticks = 0;
      a = await startTestApp('postgres', { detection: { walkSeconds: 3600, rules: { 'auth.brute-force': { failures: 2 } } } }, { clock });
      // The second node of the deployment: the same database and the same master key.
      b = await startTestApp('postgres', { keys: { masterKeyFile: join(a.dataDir, 'master-key.json') }, detection: { walkSeconds: 3600, rules: { 'auth.brute-force': { failures: 2 } } } }, { clock }, { joins: a.schemaPrefix });
      await a.tenant('clinic');
    });
    after(async () => {
      await b.close();
      await a.close();
    });

    it('the same events raise one alert, whichever node evaluates them, even both at once', async () => {
      const erin = await signIn(a, 'clinic', 'clinician', 'erin@clinic.example');
      await Promise.all([a.app.detection?.evaluate('clinic'), b.app.detection?.evaluate('clinic')]);
      for (const node of [a, b]) {
        const response = await node.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'erin@clinic.example', password: 'not the password at all' }) });
        assert.equal(response.statusCode, 401, `${response.body} ${node.logs.filter((l) => l.includes('error')).join('\n')}`);
      }
      await Promise.all([a.app.detection?.evaluate('clinic'), b.app.detection?.evaluate('clinic'), a.app.detection?.evaluate('clinic')]);
      const seenByA = await a.app.alerts.list('clinic', { rule: 'auth.brute-force' });
      assert.equal(seenByA.length, 1);
      assert.equal(seenByA[0]?.subject, `Account/${erin.accountId}`);
      assert.equal(seenByA[0]?.count, 1, 'one finding: the second failure crossed the threshold');
      assert.deepEqual(await b.app.alerts.list('clinic', {}), seenByA, 'both nodes see the one alert');
    });
  });
}
