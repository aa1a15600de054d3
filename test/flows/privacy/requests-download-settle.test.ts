import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';

const tenant = 'clinic';
const base = `/tenants/${tenant}/privacy/requests`;
const jsonBody = { 'content-type': 'application/json' };

/**
 * An access request fulfilled from the queue is done when the patient's download is ready, not
 * when it starts: the request stays in progress meanwhile (a note says so), is completed with the
 * portal's link once the download is ready, and stays open with a note for staff when the
 * download could not be prepared — or when the server preparing it went away.
 */
for (const engine of engines()) {
  describe(`an access request completes when its download is ready [${engine}]`, () => {
    let t: TestApp;
    let dir: string;
    let desk: Person;
    let anna: Person;
    let annaId: string;
    const clock = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const now = () => clock.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });
    const notesOf = async (id: string) => (json(await call(desk, 'GET', `${base}/${id}`))['texts']?.['notes'] ?? []).map((n: { text: string }) => n.text) as string[];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tresor-exports-'));
      t = await startTestApp(engine, { privacyExports: { dir } }, { clock });
      const key = await t.tenant(tenant);
      annaId = String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id']);
      desk = await signInWithTotp(t, tenant, 'front-desk', 'desk@clinic.example', now);
      anna = await signIn(t, tenant, 'patient', 'anna@patients.example', { patient: `Patient/${annaId}` });
    });
    after(async () => {
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('stays in progress while the download is prepared, and completes with the portal’s link once it is ready', async () => {
      const id = String(json(await call(anna, 'POST', base, { type: 'access', text: 'everything you hold about me' }))['id']);
      const started = await call(desk, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(started.statusCode, 200, started.body);
      assert.equal(json(started)['state'], 'in-progress', 'not completed while the download is only starting');
      assert.ok((await notesOf(id)).some((n) => /is being prepared/.test(n)));
      await t.app.subjectExports.idle();
      const done = json(await call(desk, 'GET', `${base}/${id}`));
      assert.equal(done['state'], 'completed');
      assert.match(done['texts']['outcome'], /is ready in the portal/);
      assert.equal(done['texts']['link'], `/tenants/${tenant}/me/data`);
      const trail = await t.app.audit.query(tenant, { count: 20, actions: ['privacy.request_completed'] });
      assert.equal(trail[0]?.actor.id, 'system:privacy-requests', 'completed by the system when the download was ready');
      // The patient's "who saw my data" says it in words.
      const log = await as(t, anna, { method: 'GET', url: `/tenants/${tenant}/me/access` });
      assert.equal(log.statusCode, 200, log.body);
      for (const words of ['received your privacy request', 'completed your privacy request', 'started a download of your data']) assert.ok(log.body.includes(words), words);
      assert.doesNotMatch(log.body, /privacy\.(request|export)_/, 'never an action code');
    });

    it('stays open with a note for staff when the download could not be prepared', async () => {
      // The exports' directory is a file: nothing can be written there.
      const blocked = join(dir, tenant);
      rmSync(blocked, { recursive: true, force: true });
      writeFileSync(blocked, 'not a directory');
      try {
        const id = String(json(await call(anna, 'POST', base, { type: 'portability' }))['id']);
        assert.equal(json(await call(desk, 'POST', `${base}/${id}/complete`, { fulfil: true }))['state'], 'in-progress');
        await t.app.subjectExports.idle();
        const open = json(await call(desk, 'GET', `${base}/${id}`));
        assert.equal(open['state'], 'in-progress', 'still open: nothing was delivered');
        assert.ok((await notesOf(id)).some((n) => /could not be prepared .*fulfil the request again/.test(n)), 'staff are told to try again');
      } finally {
        rmSync(blocked, { force: true });
      }
    });

    it('stays open with a note when the server preparing its download went away', async () => {
      const id = String(json(await call(anna, 'POST', base, { type: 'access' }))['id']);
      // Another server process's download for this request, which stopped moving long ago.
      const db = await t.app.storage.tenant(tenant);
      const old = now() - 3_600_000;
      await db.execute(
        `INSERT INTO ${db.table('privacy_exports')} (id, patient, requested_by, requested_role, request_ref, state, done, total, created_at, expires_at, files, owner, heartbeat_at) VALUES (?, ?, ?, ?, ?, 'running', 0, 0, ?, ?, '[]', ?, ?)`,
        ['00000000-0000-7000-8000-000000000001', `Patient/${annaId}`, 'someone', 'front-desk', id, old, old + 86_400_000, 'another-process', old],
      );
      await t.app.subjectExports.list(tenant, `Patient/${annaId}`);
      assert.ok((await notesOf(id)).some((n) => /could not be prepared \(interrupted\)/.test(n)));
    });
  });
}
