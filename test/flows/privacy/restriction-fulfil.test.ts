import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';

const tenant = 'clinic';
const base = `/tenants/${tenant}/privacy/requests`;
const jsonBody = { 'content-type': 'application/json' };

/**
 * A restriction request (GDPR Art. 18) fulfilled from the queue restricts the patient: the front
 * desk (which handles requests but may not restrict) is refused and the request stays open; a
 * tenant admin fulfils it — the restriction names the request, a clinician caring for the
 * patient is refused her records, the request is completed with a note saying what it means.
 * The ground is (a) while a rectification of hers is open, else (d).
 */
for (const engine of engines()) {
  describe(`a restriction request fulfilled from the queue [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let desk: Person;
    let admin: Person;
    let lee: Person;
    let anna: Person;
    let ben: Person;
    let annaId: string;
    let benId: string;
    let annaObs: string;
    const clock = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const now = () => clock.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });
    const filed = async (who: Person, body: unknown) => {
      const answer = await call(who, 'POST', base, body);
      assert.equal(answer.statusCode, 201, answer.body);
      return String(json(answer)['id']);
    };

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      key = await t.tenant(tenant);
      await t.inject({ method: 'PUT', url: `/tenants/${tenant}/fhir/Practitioner/dr-lee`, key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
      const created = async (body: Record<string, unknown>) => String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/${String(body['resourceType'])}`, key, body }))['id']);
      annaId = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
      benId = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
      annaObs = await created(observation(annaId));
      desk = await signInWithTotp(t, tenant, 'front-desk', 'desk@clinic.example', now);
      admin = await signInWithTotp(t, tenant, 'tenant-admin', 'admin@clinic.example', now);
      lee = await signInWithTotp(t, tenant, 'clinician', 'lee@clinic.example', now, { practitioner: 'Practitioner/dr-lee' });
      anna = await signIn(t, tenant, 'patient', 'anna@patients.example', { patient: `Patient/${annaId}` });
      ben = await signIn(t, tenant, 'patient', 'ben@patients.example', { patient: `Patient/${benId}` });
    });
    after(async () => t?.close());

    it('is refused to the front desk and carried out for a tenant admin: the clinician is then refused', async () => {
      const id = await filed(anna, { type: 'restriction', text: 'please stop using my data while I object' });
      assert.equal((await call(lee, 'GET', `/tenants/${tenant}/fhir/Observation/${annaObs}`)).statusCode, 200, 'before: the clinician reads');

      const refused = await call(desk, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.match(refused.body, /privacy:restrict/, 'says what is missing');
      assert.equal(json(await call(desk, 'GET', `${base}/${id}`))['state'], 'received', 'still open');
      assert.equal((await call(admin, 'GET', `/tenants/${tenant}/privacy/restrictions/${annaId}`)).statusCode, 404, 'not restricted');

      const done = await call(admin, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(json(done)['state'], 'completed');
      const restriction = json(await call(admin, 'GET', `/tenants/${tenant}/privacy/restrictions/${annaId}`));
      assert.equal(restriction['ground'], 'objection-pending', 'no rectification of hers is open: Art. 18(1)(d)');
      assert.equal(restriction['requestId'], id, 'the restriction names the request');
      assert.deepEqual(restriction['allowedRoles'], ['tenant-admin']);

      const read = await call(lee, 'GET', `/tenants/${tenant}/fhir/Observation/${annaObs}`);
      assert.equal(read.statusCode, 403);
      assert.equal(errorCode(read), 'processing-restricted');
      assert.equal((await as(t, anna, { method: 'GET', url: `/tenants/${tenant}/fhir/Observation/${annaObs}` })).statusCode, 200, 'she still reads her own');

      const detail = json(await call(anna, 'GET', `${base}/${id}`));
      assert.equal(detail['state'], 'completed');
      assert.match(String((detail['texts'] as Record<string, unknown>)['outcome']), /we keep it, but do not otherwise use it/, 'the note tells her what it means');
      const events = await t.app.audit.query(tenant, { count: 100 });
      const set = events.find((e) => e.action === 'privacy.restricted');
      assert.deepEqual(set?.subjects, [`Patient/${annaId}`]);
      assert.equal(set?.actor.role, 'tenant-admin');
      assert.match(set?.detail ?? '', new RegExp(`request ${id}`));

      // A second request while restricted leaves the restriction in force as it is.
      const second = await filed(anna, { type: 'restriction' });
      assert.equal((await call(admin, 'POST', `${base}/${second}/complete`, { fulfil: true })).statusCode, 200);
      assert.equal(json(await call(admin, 'GET', `/tenants/${tenant}/privacy/restrictions/${annaId}`))['requestId'], id, 'unchanged');
      assert.match(String((json(await call(anna, 'GET', `${base}/${second}`))['texts'] as Record<string, unknown>)['outcome']), /has been restricted since 2026-03-02/);
    });

    it('while a rectification of the patient is open, the ground is contested accuracy (Art. 18(1)(a))', async () => {
      await filed(ben, { type: 'rectification', changes: { birthDate: '1980-02-04' } });
      const id = await filed(ben, { type: 'restriction' });
      const done = await call(admin, 'POST', `${base}/${id}/complete`, { fulfil: true });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(json(await call(admin, 'GET', `/tenants/${tenant}/privacy/restrictions/${benId}`))['ground'], 'accuracy-contested');
    });
  });
}
