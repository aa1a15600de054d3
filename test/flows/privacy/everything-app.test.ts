import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { observation, patient } from '../../support/harness.js';
import { authorize, discover, engines, person, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';

/** An OAuth app runs $everything for its launch patient only, within its scopes, audited as the app. */
for (const engine of engines()) {
  describe(`Patient/$everything through an app [${engine}]`, () => {
    let t: OAuthTestApp;
    let alice: string;
    let bob: string;
    let token: string;
    let clientId: string;

    before(async () => {
      t = await startOAuthApp(engine);
      const key = await t.tenant('clinic');
      const created = async (type: string, body: unknown) => JSON.parse((await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${type}`, key, body })).body).id as string;
      alice = await created('Patient', patient());
      bob = await created('Patient', patient({ name: [{ family: 'Other', given: ['Bob'] }], identifier: [{ system: 'urn:x', value: 'B' }] }));
      for (const p of [alice, alice, bob]) await created('Observation', observation(p));
      await created('Invoice', { resourceType: 'Invoice', status: 'issued', subject: { reference: `Patient/${alice}` } });
      await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
      const scope = 'openid launch/patient patient/Observation.rs patient/Patient.r';
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope });
      clientId = client.clientId;
      const config = await discover(t, 'clinic', clientId, clientSecret);
      token = (await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope })).tokens.access_token;
    });
    after(() => t.close());

    it('its launch patient: the Patient and the Observations its scopes cover (no Invoice); another patient: 403', async () => {
      const own = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${alice}/$everything`, headers: { authorization: `Bearer ${token}` } });
      assert.equal(own.statusCode, 200, own.body);
      const types = (JSON.parse(own.body) as { entry: Array<{ resource: { resourceType: string } }> }).entry.map((e) => e.resource.resourceType).sort();
      assert.deepEqual(types, ['Observation', 'Observation', 'Patient']);
      const other = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${bob}/$everything`, headers: { authorization: `Bearer ${token}` } });
      assert.equal(other.statusCode, 403);
      const [event] = await t.app.audit.query('clinic', { count: 1, actions: ['record.exported'] });
      assert.equal(event?.actor.client, `oauth:${clientId}`);
    });
  });
}
