import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { json, observation, patient } from '../../support/harness.js';
import { authorize, discover, engines, oauthError, person, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';

/**
 * An erased patient's connected apps go with them: the app's access token stops working at once,
 * its refresh token is refused, and the consent rows are gone; another patient's app keeps working.
 */
for (const engine of engines()) {
  describe(`erasure ends the patient's connected apps [${engine}]`, () => {
    let t: OAuthTestApp;
    let service: string;
    let admin: string;
    let alice: string;
    let bob: string;

    before(async () => {
      t = await startOAuthApp(engine);
      service = await t.tenant('clinic');
      admin = await t.key('clinic', 'tenant-admin');
      const created = async (body: unknown) => json(await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${(body as { resourceType: string }).resourceType}`, key: service, body }))['id'] as string;
      alice = await created(patient());
      bob = await created(patient({ name: [{ family: 'Other', given: ['Bob'] }] }));
      for (const p of [alice, bob]) await created(observation(p));
      await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
      await person(t, 'clinic', 'patient', 'bob@example.org', { patient: `Patient/${bob}` });
      await t.app.retentionSettings.set('clinic', { medicalRecords: null }, { id: 'cli:test', role: 'operator', client: 'tresor-cli' });
    });
    after(async () => t?.close());

    it('the app token answers 401 after the erasure, the refresh token is refused, the other patient’s app still reads', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid offline_access patient/Observation.rs' });
      const config = await discover(t, 'clinic', client.clientId, clientSecret);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      const { tokens: bobs } = await authorize(t, config, { tenantId: 'clinic', email: 'bob@example.org', scope: 'openid offline_access patient/Observation.rs' });
      const read = (token: string) => t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await read(tokens.access_token)).statusCode, 200);

      const erased = await t.inject({ method: 'POST', url: `/tenants/clinic/privacy/erasure/${alice}`, key: admin, body: { reason: 'asked by letter' }, headers: { 'content-type': 'application/json' } });
      assert.equal(erased.statusCode, 200, erased.body);
      assert.equal(json(erased)['erasure']['counts']['grants'], 1);

      assert.equal((await read(tokens.access_token)).statusCode, 401, 'the app’s token ended with the erasure');
      const revoked = await t.app.audit.query('clinic', { count: 10, actions: ['consent.revoked'] });
      assert.equal(revoked.length, 1, 'the grant itself was withdrawn, every token of it revoked');
      assert.match(revoked[0]?.detail ?? '', /every token of it revoked/);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string), (e: unknown) => oauthError(e) === 'invalid_grant');
      assert.equal((await t.app.consents.listOf('clinic', (await t.app.accounts.list('clinic')).find((a) => a.patient === `Patient/${bob}`)?.id as string)).length, 1);
      assert.equal((await read(bobs.access_token)).statusCode, 200, 'another patient’s app is untouched');
    });
  });
}
