import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';

const tenant = 'clinic';
const base = `/tenants/${tenant}/privacy/requests`;
const jsonBody = { 'content-type': 'application/json' };

/**
 * An erasure request fulfilled from the queue is the erasure itself: the front desk (which
 * handles requests but may not erase) is refused and the request stays open; a tenant admin
 * fulfils it — the patient's records answer 410, the erasure record names the request, the
 * request is completed and keeps no text.
 */
for (const engine of engines()) {
  describe(`an erasure request fulfilled from the queue [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let desk: Person;
    let admin: Person;
    let anna: Person;
    let annaId: string;
    const clock = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const now = () => clock.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });

    before(async () => {
      // No medical-records duty here: the patient has no treatment on record to keep.
      t = await startTestApp(engine, { retention: { medicalRecordsYears: null } }, { clock });
      key = await t.tenant(tenant);
      annaId = String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id']);
      desk = await signInWithTotp(t, tenant, 'front-desk', 'desk@clinic.example', now);
      admin = await signInWithTotp(t, tenant, 'tenant-admin', 'admin@clinic.example', now);
      anna = await signIn(t, tenant, 'patient', 'anna@patients.example', { patient: `Patient/${annaId}` });
    });
    after(async () => t?.close());

    it('is refused to the front desk and carried out for a tenant admin', async () => {
      const filed = await call(anna, 'POST', base, { type: 'erasure', text: 'please forget me' });
      assert.equal(filed.statusCode, 201, filed.body);
      const id = String(json(filed)['id']);

      const refused = await call(desk, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(json(await call(desk, 'GET', `${base}/${id}`))['state'], 'received', 'still open');
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${annaId}`, key })).statusCode, 200, 'not erased');

      const done = await call(admin, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(json(done)['state'], 'completed');
      const read = await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${annaId}`, key });
      assert.equal(read.statusCode, 410);
      assert.equal(errorCode(read), 'erased');
      const records = json(await call(admin, 'GET', `/tenants/${tenant}/privacy/erasures`))['erasures'] as Array<{ subject: string; requestId?: string }>;
      assert.deepEqual(records.map((r) => [r.subject, r.requestId]), [[`Patient/${annaId}`, id]]);
      const db = await t.app.storage.tenant(tenant);
      const rows = await db.query<{ sealed: string | null; state: string }>(`SELECT sealed, state FROM ${db.table('privacy_requests')} WHERE id = ?`, [id]);
      assert.deepEqual(rows, [{ sealed: null, state: 'completed' }], 'the request keeps no text of the erased person');
    });
  });
}
