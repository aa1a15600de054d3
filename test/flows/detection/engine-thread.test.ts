import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AlertChange } from '../../../src/detection/index.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';

/** Failed sign-ins against one account, as the sign-in route records them. */
const failures = (account: string, count: number, sourceIp: string) =>
  Array.from({ length: count }, (_, i) => ({
    action: 'auth.login_failed' as const,
    outcome: 'failure' as const,
    status: 401,
    actor: { id: 'unknown', role: 'none', client: 'tresor-auth' },
    purpose: 'HOPERAT' as const,
    resources: [`Account/${account}`],
    subjects: [],
    classes: [],
    requestId: `r-${account}-${i}`,
    sourceIp,
    detail: '',
  }));

/**
 * The engine on its worker thread (the default, `detection.thread: worker`): what the worker
 * stores reaches the server thread's listeners and /metrics, and a tenant's file swapped under
 * the running server (a restore) is let go by the worker, which reads the new file afterwards.
 */
describe('detection on its worker thread [sqlite]', () => {
  let t: TestApp;
  const changes: AlertChange[] = [];
  before(async () => {
    // No background rounds: the test evaluates by hand.
    t = await startTestApp('sqlite', { detection: { wakeMs: 60_000, walkSeconds: 3600, rules: { 'auth.brute-force': { failures: 3 } } } });
    await t.tenant('clinic');
    await t.tenant('spare');
    t.app.alerts.onChange((change) => changes.push(change));
  });
  after(() => t.close());


  it('stores the alert in the realm and tells the server thread: listeners and /metrics', async () => {
    await t.app.audit.record('clinic', failures('acct-1', 4, '203.0.113.7'));
    assert.equal(await t.app.detection?.evaluate('clinic'), 4, 'the worker evaluated the four events');
    const [alert] = await t.app.alerts.list('clinic', { rule: 'auth.brute-force' });
    assert.equal(alert?.subject, 'Account/acct-1');
    // The relay is a message after the worker's commit: it may land just after the answer.
    for (let i = 0; i < 100 && !changes.some((c) => c.alert.id === alert?.id); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    const told = changes.find((c) => c.alert.id === alert?.id);
    assert.equal(told?.kind, 'raised');
    assert.equal(told?.alert.realm, 'clinic');
    const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /tresor_detection_events_total \d+/);
    assert.ok(Number(/tresor_detection_events_total (\d+)/.exec(metrics)?.[1]) >= 4, 'evaluated events counted on the server thread');
  });

  it('lets go of a tenant file swapped under the server and reads the new one', async () => {
    // The worker has clinic's file open now. The replacement: spare's data set, with failures
    // its rules have not seen (a new realm's cursor starts at its first event).
    await t.app.audit.record('spare', failures('acct-2', 5, '203.0.113.7'));
    const spareFile = t.app.storage.describeTenant('spare');
    const clinicFile = t.app.storage.describeTenant('clinic');
    await t.app.storage.replaceTenant('clinic', async (target) => {
      assert.equal(target, clinicFile);
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
      const source = new Database(spareFile, { readonly: true });
      try {
        source.prepare('VACUUM INTO ?').run(target);
      } finally {
        source.close();
      }
    });
    // Had the worker kept its connection to the old file, it would find nothing new there.
    assert.equal(await t.app.detection?.evaluate('clinic'), 5, 'the new file\'s events, read from its first');
    const alerts = await t.app.alerts.list('clinic', { rule: 'auth.brute-force' });
    assert.deepEqual(alerts.map((a) => a.subject), ['Account/acct-2'], 'the new file\'s alerts; the old file is gone');
  });
});

for (const engine of engines()) describe(`the worker's walk [${engine}]`, () => {
  let t: TestApp;
  before(async () => {
    // Wakes a minute after appends: what the test sees, the walk (each second) found.
    t = await startTestApp(engine, { detection: { wakeMs: 60_000, walkSeconds: 1, rules: { 'auth.brute-force': { failures: 3 } } } });
    await t.tenant('clinic');
    await t.tenant('quiet');
  });
  after(() => t.close());

  const failuresFor = (account: string) => failures(account, 3, '203.0.113.9');
  const alertFor = async (account: string) => {
    for (let i = 0; i < 150; i += 1) {
      if ((await t.app.alerts.list('clinic', { rule: 'auth.brute-force' })).some((a) => a.subject === `Account/${account}`)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };

  it('finds events appended since its last look, again and again (a realm skipped as unchanged is looked at once it changes)', async () => {
    await t.app.audit.record('clinic', failuresFor('walk-1'));
    assert.ok(await alertFor('walk-1'), 'the walk found the first failures');
    // Several walks pass over the unchanged realms now; then the realm changes again.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await t.app.audit.record('clinic', failuresFor('walk-2'));
    assert.ok(await alertFor('walk-2'), 'the walk found the failures appended after it had skipped the realm');
  });
});

