import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { discover, engines, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { as, signIn, type Person } from '../../support/people.js';
import { denyApp, denyClasses, privacyConsent } from './consent-support.js';

type Json = Record<string, any>;

/**
 * Privacy consents enforced by the record guard: a deny for an app refuses that app's token for
 * this patient only; a deny of a data class redacts it for a clinician, in reads, searches and
 * Bundles; a withdrawal takes effect at the next request, in this server and in a second one on
 * the same data set; every refusal and redaction is audited with the Consent that caused it.
 */
for (const engine of engines()) {
  describe(`consent enforced by the guard (${engine})`, () => {
    let t: OAuthTestApp;
    let key: string;
    let alice: string;
    let bob: string;
    let aliceObs: string;
    let bobObs: string;
    let clientId: string;
    let token: string;
    let lee: Person;
    const practitioner = 'Practitioner/dr-lee';

    before(async () => {
      t = await startOAuthApp(engine);
      key = await t.tenant('clinic');
      await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-lee', key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
      const created = async (body: unknown) => json((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/' + (body as Json)['resourceType'], key, body }))).id as string;
      alice = await created(patient({ generalPractitioner: [{ reference: practitioner }] }));
      bob = await created(patient({ generalPractitioner: [{ reference: practitioner }] }));
      aliceObs = await created(observation(alice));
      bobObs = await created(observation(bob));
      const registered = await t.app.clients.create('clinic', { name: 'Research export', publisher: 'Uni Lab', kind: 'backend', scope: 'system/Patient.rs system/Observation.rs', role: 'service-reader' }, 'test', { pending: true });
      clientId = registered.client.clientId;
      await t.app.clients.approve('clinic', clientId, 'cli:test');
      const config = await discover(t, 'clinic', clientId, registered.clientSecret as string);
      token = (await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs system/Observation.rs' })).access_token;
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      lee = await signIn(t, 'clinic', 'clinician', 'lee@example.org', { practitioner });
    });
    after(async () => t.close());

    const byApp = (url: string) => t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${url}`, headers: { authorization: `Bearer ${token}` } });
    const byLee = (method: string, url: string, body?: unknown) => as(t, lee, { method, url: `/tenants/clinic/fhir/${url}`, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/fhir+json' } }) });
    const events = async (action: string) => (await t.app.audit.query('clinic', { count: 200 })).filter((e) => e.action === action);

    it('a deny for an app: its token gets 403 for this patient, and 200 for another; search leaves the patient out and says so; audited with the Consent', async () => {
      assert.equal((await byApp(`Observation/${aliceObs}`)).statusCode, 200, 'before the consent');
      const consent = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Consent', key, body: privacyConsent(alice, denyApp(clientId)) }));
      const refused = await byApp(`Observation/${aliceObs}`);
      assert.equal(refused.statusCode, 403);
      assert.equal(errorCode(refused), 'consent-denied');
      assert.ok(refused.body.includes(`Consent/${consent.id}`), 'the OperationOutcome names the Consent');
      assert.ok(!refused.body.includes(clientId), 'and nothing of its contents');
      assert.equal((await byApp(`Patient/${alice}`)).statusCode, 403, 'every record of the patient');
      assert.equal((await byApp(`Observation/${bobObs}`)).statusCode, 200, 'another patient is untouched');

      const search = json(await byApp('Observation'));
      const matches = search.entry.filter((e: Json) => e.search.mode === 'match').map((e: Json) => e.resource.id);
      assert.deepEqual(matches, [bobObs]);
      const outcome = search.entry.find((e: Json) => e.search.mode === 'outcome');
      assert.match(outcome.resource.issue[0].details.text, /^1 match on this page withheld/);

      const denied = (await events('access.denied')).filter((e) => e.detail === `consent-denied Consent/${consent.id}`);
      assert.ok(denied.length >= 3, 'the read, the Patient read and the withheld search row');
      assert.ok(denied.every((e) => e.actor.client === `oauth:${clientId}`));
      assert.ok(denied.some((e) => e.subjects.includes(`Patient/${alice}`)));

      // Withdrawal (a new version, inactive): the very next request is permitted.
      const withdrawn = await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key, body: { ...privacyConsent(alice, denyApp(clientId), 'inactive'), id: consent.id } });
      assert.equal(withdrawn.statusCode, 200, withdrawn.body);
      assert.equal((await byApp(`Observation/${aliceObs}`)).statusCode, 200, 'no stale deny after a withdrawal');
    });

    it('a deny of a data class redacts it for that clinician in reads, searches and Bundles; other classes and clinicians untouched', async () => {
      assert.ok(json(await byLee('GET', `Observation/${aliceObs}`)).valueQuantity, 'before the consent');
      const consent = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Consent', key, body: privacyConsent(alice, denyClasses(practitioner, ['health'])) }));
      const read = await byLee('GET', `Observation/${aliceObs}`);
      assert.equal(read.statusCode, 200);
      const body = json(read);
      assert.equal(body.valueQuantity, undefined, 'the value is gone');
      assert.equal(body.code.coding[0].code, '8867-4', 'what was measured (internal) stays');
      assert.ok(body.meta.security.some((s: Json) => s.code === 'REDACTED'));
      assert.ok(json(await byLee('GET', `Observation/${bobObs}`)).valueQuantity, 'another patient’s value stays');
      assert.ok(json(await byApp(`Observation/${aliceObs}`)).valueQuantity, 'another reader sees it');

      const search = json(await byLee('GET', `Observation?subject=Patient/${alice}`));
      assert.equal(search.entry.length, 1);
      assert.equal(search.entry[0].resource.valueQuantity, undefined);

      const bundle = json(await byLee('POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Observation/${aliceObs}` } }, { request: { method: 'GET', url: `Observation?subject=Patient/${alice}` } }] }));
      assert.equal(bundle.entry[0].resource.valueQuantity, undefined);
      assert.equal(bundle.entry[1].resource.entry[0].resource.valueQuantity, undefined);

      // A change would overwrite what the clinician may not see: refused whole.
      const update = await byLee('PUT', `Observation/${aliceObs}`, { ...observation(alice), id: aliceObs, status: 'amended' });
      assert.equal(update.statusCode, 403);
      assert.equal(errorCode(update), 'consent-denied');

      const redacted = (await events('access.redacted')).filter((e) => e.detail === `Consent/${consent.id}`);
      assert.ok(redacted.length >= 3, 'the read, the search, the Bundle');
      assert.ok(redacted.every((e) => e.classes.length === 1 && e.classes[0] === 'health' && e.subjects.includes(`Patient/${alice}`)));
      const reads = (await events('record.read')).filter((e) => e.resources.some((r) => r.startsWith(`Observation/${aliceObs}/`)) && e.actor.role === 'clinician');
      assert.ok(!(reads[0]?.classes ?? ['health']).includes('health'), 'the read event lists the classes actually disclosed');

      await t.inject({ method: 'DELETE', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key });
      assert.ok(json(await byLee('GET', `Observation/${aliceObs}`)).valueQuantity, 'a deleted consent applies no more');
    });

    it('break-the-glass is not blocked by a consent, and is recorded as a grant for review', async () => {
      const consent = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Consent', key, body: privacyConsent(alice, { type: 'deny' }) }));
      assert.equal(errorCode(await byLee('GET', `Observation/${aliceObs}`)), 'consent-denied');
      const emergency = await as(t, lee, { method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}`, headers: { 'x-break-glass-reason': 'Unconscious in the emergency room' } });
      assert.equal(emergency.statusCode, 200);
      assert.ok((await events('access.emergency_granted')).some((e) => e.resources.includes(`Observation/${aliceObs}`)));
      await t.inject({ method: 'DELETE', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key });
    });

    it('a second server on the same data set sees a new consent and its withdrawal at the next request', async () => {
      const second: TestApp = await startTestApp(engine, { dataDir: t.dataDir, server: { publicUrl: t.base } }, {}, engine === 'postgres' ? { joins: t.schemaPrefix } : {});
      try {
        const readThere = () => second.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}`, headers: { authorization: `Bearer ${key}` } });
        const byAppThere = () => second.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${aliceObs}`, headers: { authorization: `Bearer ${token}` } });
        assert.equal((await readThere()).statusCode, 200);
        assert.equal((await byAppThere()).statusCode, 200, 'the other server permits (and has looked up the patient)');
        const consent = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Consent', key, body: privacyConsent(alice, denyApp(clientId)) }));
        assert.equal((await byAppThere()).statusCode, 403, 'a consent given through one server binds the other at once');
        await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key, body: { ...privacyConsent(alice, denyApp(clientId), 'inactive'), id: consent.id } });
        assert.equal((await byAppThere()).statusCode, 200, 'and its withdrawal too: no stale deny');
        await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key, body: { ...privacyConsent(alice, denyApp(clientId)), id: consent.id } });
        assert.equal((await byAppThere()).statusCode, 403, 'nor a stale permit after it is given again');
        await t.inject({ method: 'DELETE', url: `/tenants/clinic/fhir/Consent/${consent.id}`, key });
      } finally {
        await second.close();
      }
    });
  });
}
