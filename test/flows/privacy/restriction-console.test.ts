import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';

const tenant = 'clinic';
const section = `/tenants/${tenant}/console/restrictions/`;

/**
 * The console's "Restrictions" section over HTTP: a restriction set by form is enforced and
 * listed (in German too), refusals show in the page, lifting an unrestricted patient says so,
 * a bad CSRF token and a session without a second factor change nothing; and a restriction
 * request fulfilled from the console's request page (the front desk refused, the admin not).
 */
describe('the Restrictions section and the console fulfilment [sqlite]', () => {
  let t: TestApp;
  let key: string;
  let admin: Person;
  let desk: Person;
  let lee: Person;
  let annaId: string;
  let benId: string;
  let annaObs: string;
  const clock = fixedClock(new Date('2026-03-02T09:00:00Z'));
  const now = () => clock.now().getTime();
  const form = (who: Person, url: string, fields: Record<string, string>, csrf = who.csrf) =>
    t.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, ...fields }).toString() });
  const page = (who: Person, url: string) => as(t, who, { method: 'GET', url });

  before(async () => {
    t = await startTestApp('sqlite', {}, { clock });
    key = await t.tenant(tenant);
    await t.inject({ method: 'PUT', url: `/tenants/${tenant}/fhir/Practitioner/dr-lee`, key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
    const created = async (body: Record<string, unknown>) => String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/${String(body['resourceType'])}`, key, body }))['id']);
    annaId = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
    benId = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee' }] }));
    annaObs = await created(observation(annaId));
    admin = await signInWithTotp(t, tenant, 'tenant-admin', 'admin@clinic.example', now);
    desk = await signInWithTotp(t, tenant, 'front-desk', 'desk@clinic.example', now);
    lee = await signInWithTotp(t, tenant, 'clinician', 'lee@clinic.example', now, { practitioner: 'Practitioner/dr-lee' });
  });
  after(async () => t?.close());

  it('restricts by form (then enforced and listed, in German too), lifts, and shows refusals in the page', async () => {
    const empty = await page(admin, section);
    assert.equal(empty.statusCode, 200);
    assert.match(empty.body, /No patient is restricted/);

    const noGround = await form(admin, section, { patient: annaId, 'role-tenant-admin': 'yes' });
    assert.equal(noGround.statusCode, 400);
    assert.match(noGround.body, /role="alert"[^>]*>Choose why the processing is restricted/);
    assert.match(noGround.body, new RegExp(`value="${annaId}"`), 'the typed id is kept');
    const badId = await form(admin, section, { patient: 'Patient/../x', ground: 'legal-claims' });
    assert.equal(badId.statusCode, 400);
    assert.match(badId.body, /role="alert"/);
    const forged = await form(admin, section, { patient: annaId, ground: 'legal-claims' }, 'not-the-token');
    assert.equal(forged.statusCode, 403, 'CSRF');

    const made = await form(admin, section, { patient: `Patient/${annaId}`, ground: 'legal-claims', 'role-billing': 'yes', requestId: 'letter-7' });
    assert.equal(made.statusCode, 303, made.body);
    assert.equal(made.headers.location, `${section}?done=restricted`);
    assert.equal(errorCode(await as(t, lee, { method: 'GET', url: `/tenants/${tenant}/fhir/Observation/${annaObs}` })), 'processing-restricted', 'enforced at once');
    const restriction = json(await as(t, admin, { method: 'GET', url: `/tenants/${tenant}/privacy/restrictions/${annaId}` }));
    assert.deepEqual([restriction['ground'], restriction['allowedRoles'], restriction['requestId']], ['legal-claims', ['billing'], 'letter-7'], 'no box ticked but billing: only billing');

    const listed = await page(admin, `${section}?done=restricted`);
    assert.match(listed.body, /The patient is restricted\./);
    assert.ok(listed.body.includes(`Patient/${annaId}`));
    assert.match(listed.body, /needs it for legal claims \(c\)/);
    const german = await page(admin, `${section}?lang=de`);
    assert.match(german.body, /Eingeschränkte Patienten/);
    assert.match(german.body, /für Rechtsansprüche \(c\)/);
    assert.match(german.body, /Abrechnung/);
    const looked = (await t.app.audit.query(tenant, { count: 20, actions: ['record.read'] })).find((e) => e.detail === 'restrictions count=1');
    assert.deepEqual(looked?.subjects, [`Patient/${annaId}`], 'showing the list is on the patient’s record');

    const confirm = await page(admin, `${section}${annaId}/lift`);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Art\. 18\(3\)/);
    const lifted = await form(admin, `${section}${annaId}/lift`, {});
    assert.equal(lifted.statusCode, 303);
    assert.equal((await as(t, lee, { method: 'GET', url: `/tenants/${tenant}/fhir/Observation/${annaObs}` })).statusCode, 200, 'processed again');
    const again = await form(admin, `${section}${annaId}/lift`, {});
    assert.equal(again.statusCode, 404);
    assert.match(again.body, /role="alert"[^>]*>This patient is not restricted/);
  });

  it('a session without a second factor sees the list but no form, and its POST changes nothing', async () => {
    await t.app.tenants.setMfaPolicy(tenant, 'optional');
    const plain = await signIn(t, tenant, 'tenant-admin', 'admin2@clinic.example');
    const shown = await page(plain, section);
    assert.equal(shown.statusCode, 200);
    assert.doesNotMatch(shown.body, /Restrict processing/);
    assert.match(shown.body, /second factor/);
    assert.equal((await form(plain, section, { patient: annaId, ground: 'legal-claims' })).statusCode, 403);
    assert.equal((await as(t, admin, { method: 'GET', url: `/tenants/${tenant}/privacy/restrictions/${annaId}` })).statusCode, 404);
  });

  it('a restriction request fulfilled from its page in the console: the front desk is refused, the admin restricts', async () => {
    const ben = await signIn(t, tenant, 'patient', 'ben@patients.example', { patient: `Patient/${benId}` });
    const filed = await as(t, ben, { method: 'POST', url: `/tenants/${tenant}/privacy/requests`, body: { type: 'restriction' }, headers: { 'content-type': 'application/json' } });
    assert.equal(filed.statusCode, 201, filed.body);
    const id = String(json(filed)['id']);
    const requestPage = `/tenants/${tenant}/console/requests/${id}`;
    assert.match((await page(admin, requestPage)).body, /Fulfil \(prepare the answer and complete\)/, 'the queue offers Fulfil for a restriction');

    const refused = await form(desk, `${requestPage}/fulfil`, {});
    assert.equal(refused.statusCode, 403);
    assert.equal((await as(t, admin, { method: 'GET', url: `/tenants/${tenant}/privacy/restrictions/${benId}` })).statusCode, 404, 'not restricted');

    const done = await form(admin, `${requestPage}/fulfil`, {});
    assert.equal(done.statusCode, 303, done.body);
    const after = await page(admin, `${requestPage}?changed=1`);
    assert.match(after.body, /This request is closed/);
    assert.match(after.body, /we keep it, but do not otherwise use it/);
    const restriction = json(await as(t, admin, { method: 'GET', url: `/tenants/${tenant}/privacy/restrictions/${benId}` }));
    assert.equal(restriction['requestId'], id);
    const list = (await page(admin, section)).body;
    assert.match(list, new RegExp(`Patient/${benId}[\\s\\S]*href="/tenants/${tenant}/console/requests/${id}">request ${id}</a>`), 'listed with a link to its request');
    assert.match(list, /admin@clinic\.example/, 'who set it, by e-mail address');
    assert.doesNotMatch(list, /account:/, 'never a bare account id');
    // The request's history in words: who (the patient, a colleague by address) and what happened.
    const history = after.body.slice(after.body.indexOf('id="history-heading"'));
    for (const words of ['received', 'completed', 'the patient', 'admin@clinic.example']) assert.ok(history.includes(words), words);
    assert.doesNotMatch(history, /privacy\.request_|account:/, 'no action codes, no account ids');
  });
});
