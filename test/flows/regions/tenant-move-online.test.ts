import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { generateBackupKey } from '../../../src/backup/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';
import { keyRows } from '../../support/key-store.js';


/**
 * `POST /platform/tenants/{t}/move` on SQLite, while the tenant is used: every answer meanwhile is
 * 2xx or 503 with Retry-After, every acknowledged create is readable in the new region, the
 * source file and keys are gone, both trails hold the move; refused moves change nothing.
 */
describe('moving a tenant while the server runs [sqlite]', () => {
  let t: TestApp;
  let ch: string;
  let repository: string;
  let operator: Person;
  let key = '';
  const clock = fixedClock(new Date('2026-12-07T12:00:10Z'));
  const move = (body: unknown, who: Person | 'nobody' = operator, tenant = 'clinic') =>
    who === 'nobody'
      ? t.inject({ method: 'POST', url: `/platform/tenants/${tenant}/move`, body, headers: { 'content-type': 'application/json' } })
      : as(t, who, { method: 'POST', url: `/platform/tenants/${tenant}/move`, body, headers: { 'content-type': 'application/json' } });

  before(async () => {
    ch = mkdtempSync(join(tmpdir(), 'tresor-region-ch-'));
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    t = await startTestApp('sqlite', { regions: { ch: { dataDir: ch, label: 'Switzerland' } }, backup: { repository, key: generateBackupKey(), schedule: false } }, { clock });
    key = await t.tenant('clinic');
    for (let i = 0; i < 20; i += 1) assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: `Vorher${i}` }] }) })).statusCode, 201);
    operator = await signInOperator(t, 'operator', 'ops@hosting.example', () => clock.now().getTime());
  });
  after(async () => {
    await t?.close();
    rmSync(ch, { recursive: true, force: true });
    rmSync(repository, { recursive: true, force: true });
  });

  it('refuses an unknown region, the same region, no reason, and a caller who is no operator: nothing changes', async () => {
    const unknown = await move({ to: 'mars', reason: 'test' });
    assert.equal(unknown.statusCode, 400, unknown.body);
    assert.equal(json(unknown)['code'], 'region-unknown');
    const same = await move({ to: 'default', reason: 'test' });
    assert.equal(same.statusCode, 409, same.body);
    assert.match(json(same)['title'] as string, /in region default already.*nothing was moved/);
    const noReason = await move({ to: 'ch' });
    assert.equal(noReason.statusCode, 400, noReason.body);
    assert.equal((await move({ to: 'ch', reason: 'x' }, 'nobody')).statusCode, 401);
    const byKey = await t.inject({ method: 'POST', url: '/platform/tenants/clinic/move', key, body: { to: 'ch', reason: 'x' }, headers: { 'content-type': 'application/json' } });
    assert.ok([401, 403].includes(byKey.statusCode), `a tenant's API key is refused (${byKey.statusCode})`);
    assert.equal((await t.app.tenants.get('clinic'))?.region, 'default');
    assert.equal((await t.app.tenants.get('clinic'))?.movingSince, undefined);
    assert.ok(existsSync(join(t.dataDir, 'tenants', 'clinic.db')));
    assert.ok(!existsSync(join(ch, 'tenants', 'clinic.db')));
    assert.equal(keyRows(join(ch, 'keys.db'), 'clinic'), 0);
    const failures = (await t.app.audit.query('operators', { actions: ['tenant.region_moved'], count: 10 })).filter((e) => e.outcome === 'failure');
    assert.equal(failures.length, 3, 'the operator’s three refused moves are in the operators’ trail');
    assert.equal((await t.app.audit.query('clinic', { actions: ['tenant.region_moved'], count: 5 })).length, 0);
  });

  it('answers 2xx or 503 with Retry-After while moving, and loses no acknowledged write', async () => {
    const created: string[] = [];
    const answers: LightMyRequestResponse[] = [];
    let moving = true;
    let unavailable = 0;
    const traffic = async (writer: boolean) => {
      let i = 0;
      while (moving) {
        const answer = writer
          ? await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: `Waehrend${i++}` }] }) })
          : await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?_count=5', key });
        answers.push(answer);
        if (answer.statusCode === 201) created.push(json(answer)['id'] as string);
        if (answer.statusCode === 503) unavailable += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const clients = [traffic(true), traffic(true), traffic(false), traffic(false)];
    // Some traffic first, so the move begins with requests in flight.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const moved = await move({ to: 'ch', reason: 'customer chose Switzerland' });
    const took = performance.now() - started;
    // And a little after, against the new region.
    await new Promise((resolve) => setTimeout(resolve, 50));
    moving = false;
    await Promise.all(clients);
    assert.equal(moved.statusCode, 200, moved.body);
    const report = json(moved);
    assert.equal(report['from'], 'default');
    assert.equal(report['to'], 'ch');
    assert.deepEqual(report['backup'], { skipped: 'region ch has no backup repository configured' });
    console.log(`move of ${20 + created.length} patients took ${Math.round(took)} ms; the tenant answered 503 for ${report['unavailableMs']} ms; ${unavailable} of ${answers.length} requests meanwhile got 503`);

    for (const answer of answers) {
      assert.ok((answer.statusCode >= 200 && answer.statusCode < 300) || answer.statusCode === 503, `answered ${answer.statusCode}: ${answer.body.slice(0, 200)}`);
      if (answer.statusCode === 503) {
        assert.equal(answer.headers['retry-after'], '5');
        assert.match(String(answer.headers['content-type']), /application\/fhir\+json/, 'a FHIR path answers with an OperationOutcome');
        assert.equal(json(answer)['resourceType'], 'OperationOutcome');
      }
    }
    assert.ok(created.length > 0, 'some creates were acknowledged');
    for (const id of created) {
      const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${id}`, key });
      assert.equal(read.statusCode, 200, `acknowledged Patient/${id} is readable after the move`);
    }

    assert.equal((await t.app.tenants.get('clinic'))?.region, 'ch');
    assert.equal((await t.app.tenants.get('clinic'))?.movingSince, undefined, 'the mark is cleared');
    assert.ok(existsSync(join(ch, 'tenants', 'clinic.db')));
    for (const suffix of ['', '-wal', '-shm']) assert.ok(!existsSync(join(t.dataDir, 'tenants', `clinic.db${suffix}`)), `source clinic.db${suffix} destroyed`);
    assert.equal(keyRows(join(t.dataDir, 'keys.db'), 'clinic'), 0, 'no key of the tenant left in the source key store');
    assert.ok(keyRows(join(ch, 'keys.db'), 'clinic') > 0);
    const tenantTrail = await t.app.audit.query('clinic', { actions: ['tenant.region_moved'], count: 5 });
    assert.equal(tenantTrail[0]?.detail, 'from default to ch: customer chose Switzerland');
    assert.equal(tenantTrail[0]?.actor.id, `operator:${operator.accountId}`);
    const operators = (await t.app.audit.query('operators', { actions: ['tenant.region_moved'], count: 10 })).filter((e) => e.outcome === 'success');
    assert.equal(operators.length, 1);
    assert.equal((await t.app.audit.verify('clinic')).findings.length, 0, 'the moved trail verifies');
    const region = await t.inject({ method: 'GET', url: '/tenants/clinic/region', key });
    assert.equal(json(region)['region']['name'], 'ch');
  });

  it('answers every surface of a moving tenant 503 with Retry-After: problem+json, and a page for a browser', async () => {
    assert.ok(await t.app.tenants.markMoving('clinic'));
    try {
      const api = await t.inject({ method: 'GET', url: '/tenants/clinic/region', key });
      assert.equal(api.statusCode, 503);
      assert.equal(api.headers['retry-after'], '5');
      assert.match(String(api.headers['content-type']), /application\/problem\+json/);
      assert.equal(json(api)['code'], 'tenant-moving');
      const oauth = await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/.well-known/openid-configuration' });
      assert.equal(oauth.statusCode, 503);
      const page = await t.inject({ method: 'GET', url: '/tenants/clinic/console/', headers: { accept: 'text/html' } });
      assert.equal(page.statusCode, 503);
      assert.equal(page.headers['retry-after'], '5');
      assert.match(String(page.headers['content-type']), /text\/html/);
      // Another tenant is served as usual.
      await t.tenant('other');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/other/oauth/.well-known/openid-configuration' })).statusCode, 200);
    } finally {
      await t.app.tenants.clearMoving('clinic');
    }
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/region', key })).statusCode, 200);
  });

  it('moving back to the home region takes a backup of it afterwards, with the tenant in it', async () => {
    const moved = await move({ to: 'default', reason: 'contract moved back to the EU entity' });
    assert.equal(moved.statusCode, 200, moved.body);
    const backup = json(moved)['backup'] as { snapshot?: string };
    assert.ok(typeof backup.snapshot === 'string', `a snapshot was taken: ${JSON.stringify(backup)}`);
    const snapshots = await t.app.backups.list();
    const taken = snapshots.find((s) => s.manifest.id === backup.snapshot);
    assert.ok(taken !== undefined, 'the snapshot is in the home repository');
    assert.ok(taken.manifest.dataSets.some((d) => d.kind === 'tenant' && d.id === 'clinic'), 'with the moved tenant in it');
    assert.equal((await t.app.tenants.get('clinic'))?.region, 'default');
    assert.equal(keyRows(join(ch, 'keys.db'), 'clinic'), 0, 'nothing of the tenant left in ch');
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/region', key })).statusCode, 200);
  });
});
