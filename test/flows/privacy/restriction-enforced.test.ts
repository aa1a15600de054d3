import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, type Person } from '../../support/people.js';

type Json = Record<string, any>;
const restricted = (resource: Json) => (resource['meta']?.security ?? []).some((s: Json) => s.code === 'restricted-processing');

/**
 * Restriction of processing (GDPR Art. 18): the data is kept but not processed — reads, searches
 * and writes refused for every role but the allowed ones, the patient still reads their own, and
 * whatever is still disclosed is labelled restricted (meta.security and a header), in Bundles too.
 */
for (const engine of engines()) {
  describe(`restriction of processing (${engine})`, () => {
    let t: TestApp;
    let key: string;
    let adminKey: string;
    let alice: string;
    let bob: string;
    let aliceObs: string;
    let lee: Person;
    let aliceSelf: Person;

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      adminKey = await t.key('clinic', 'tenant-admin');
      await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-lee', key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
      const created = async (body: Json) => json(await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${body['resourceType']}`, key, body })).id as string;
      alice = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
      bob = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
      aliceObs = await created(observation(alice));
      await created(observation(bob));
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      lee = await signIn(t, 'clinic', 'clinician', 'lee@example.org', { practitioner: 'Practitioner/dr-lee' });
      aliceSelf = await signIn(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
    });
    after(async () => t.close());

    const restrict = (body: unknown, bearer = adminKey) => t.inject({ method: 'POST', url: `/tenants/clinic/privacy/restrictions/${alice}`, key: bearer, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const byLee = (method: string, url: string, body?: unknown) => as(t, lee, { method, url: `/tenants/clinic/fhir/${url}`, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/fhir+json' } }) });

    it('only a role with privacy:restrict restricts; the ground is one of Art. 18(1); set and lift are audited', async () => {
      const byService = await restrict({ ground: 'accuracy-contested' }, key);
      assert.equal(byService.statusCode, 403, 'the service role has no privacy:restrict');
      assert.equal((await restrict({ ground: 'because' })).statusCode, 400);
      assert.equal((await restrict({ ground: 'accuracy-contested', allowedRoles: ['patient'] })).statusCode, 400, 'the patient is not a role to allow: they always read their own');
      const made = await restrict({ ground: 'accuracy-contested', allowedRoles: ['service'], requestId: 'dsr-42' });
      assert.equal(made.statusCode, 201, made.body);
      assert.deepEqual(json(made).allowedRoles, ['service']);
      const shown = await t.inject({ method: 'GET', url: `/tenants/clinic/privacy/restrictions/${alice}`, key: adminKey });
      assert.equal(json(shown).ground, 'accuracy-contested');
      const events = await t.app.audit.query('clinic', { count: 50 });
      const set = events.find((e) => e.action === 'privacy.restricted');
      assert.deepEqual(set?.subjects, [`Patient/${alice}`]);
      assert.match(set?.detail ?? '', /dsr-42/);
      assert.ok(events.some((e) => e.action === 'access.denied' && e.actor.role === 'service' && e.resources.includes(`Patient/${alice}`)), 'the refused attempt');
    });

    it('while restricted: a clinician is refused reads and writes with a clear OperationOutcome; searches leave the patient out and say so', async () => {
      const read = await byLee('GET', `Observation/${aliceObs}`);
      assert.equal(read.statusCode, 403);
      assert.equal(errorCode(read), 'processing-restricted');
      assert.match(json(read).issue[0].details.text, /GDPR Art\. 18/);
      assert.equal(errorCode(await byLee('GET', `Patient/${alice}`)), 'processing-restricted');
      const write = await byLee('POST', 'Observation', observation(alice));
      assert.equal(errorCode(write), 'processing-restricted', 'no new data is collected either');
      // A clinician who does not care for her learns nothing of the restriction: the answer is the usual one.
      const stranger = await signIn(t, 'clinic', 'clinician', 'ng@example.org', { practitioner: 'Practitioner/dr-ng' });
      const probe = await as(t, stranger, { method: 'POST', url: '/tenants/clinic/fhir/Observation', body: observation(alice), headers: { 'content-type': 'application/fhir+json' } });
      assert.equal(errorCode(probe), 'not-in-care');
      assert.equal(errorCode(await as(t, stranger, { method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}` })), 'not-in-care');
      const search = json(await byLee('GET', 'Observation'));
      const matches = search.entry.filter((e: Json) => e.search.mode === 'match');
      assert.equal(matches.length, 1, 'only the other patient’s observation');
      assert.equal(matches[0].resource.subject.reference, `Patient/${bob}`);
      assert.ok(search.entry.some((e: Json) => e.search.mode === 'outcome'), 'the page says that a match was withheld');
      const denied = (await t.app.audit.query('clinic', { count: 50 })).filter((e) => e.action === 'access.denied' && e.detail === 'processing-restricted restriction');
      assert.ok(denied.length >= 3);
    });

    it('the allowed role still reads, every answer labelled restricted (header too, and in Bundles); the patient reads their own', async () => {
      const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}`, key });
      assert.equal(read.statusCode, 200);
      assert.ok(restricted(json(read)));
      assert.equal(read.headers['x-processing-restricted'], 'true');
      const other = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${bob}`, key });
      assert.ok(!restricted(json(other)) && other.headers['x-processing-restricted'] === undefined, 'another patient is not labelled');
      const bundle = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/', key, body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${alice}` } }] } }));
      assert.ok(restricted(bundle.entry[0].resource));
      const own = await as(t, aliceSelf, { method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}` });
      assert.equal(own.statusCode, 200);
      assert.ok(restricted(json(own)));
      // The label is the guard's to set: a client cannot store it.
      const labelled = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key, body: observation(bob, { meta: { security: [{ system: 'https://tresor.dev/fhir/CodeSystem/privacy', code: 'restricted-processing' }] } }) });
      assert.ok(!restricted(json(labelled)));
    });

    it('lifting it gives the clinician back their reads', async () => {
      const lifted = await t.inject({ method: 'DELETE', url: `/tenants/clinic/privacy/restrictions/${alice}`, key: adminKey });
      assert.equal(lifted.statusCode, 204);
      assert.equal((await t.inject({ method: 'DELETE', url: `/tenants/clinic/privacy/restrictions/${alice}`, key: adminKey })).statusCode, 404);
      const read = await byLee('GET', `Observation/${aliceObs}`);
      assert.equal(read.statusCode, 200);
      assert.ok(!restricted(json(read)));
      assert.ok((await t.app.audit.query('clinic', { count: 20 })).some((e) => e.action === 'privacy.restriction_lifted'));
    });
  });
}
