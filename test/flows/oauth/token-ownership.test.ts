import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { credentialThrottlePolicy } from '../../../src/identity/index.js';
import { discover, engines, oauthError, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';

/**
 * A token is its own client's business: introspection (RFC 7662 §4) answers `active: false` to
 * any other client, and revocation (RFC 7009 §2.1) refuses another client's token, so one app's
 * credentials never read or end another app's tokens.
 */
for (const engine of engines()) {
  describe(`introspection and revocation by the token's own client only (${engine})`, () => {
    let t: OAuthTestApp;
    let owner: oidc.Configuration;
    let stranger: oidc.Configuration;

    const backend = async (name: string) => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { name, kind: 'backend', role: 'service-reader', scope: 'system/Patient.rs', redirectUris: [] });
      return discover(t, 'clinic', client.clientId, clientSecret);
    };

    before(async () => {
      t = await startOAuthApp(engine);
      await t.tenant('clinic');
      await t.tenant('other');
      owner = await backend('Nightly export');
      stranger = await backend('Other integration');
    });
    after(async () => t.close());

    it('introspection: the owner learns the claims, another client of the same tenant learns only "inactive"', async () => {
      const { access_token: token } = await oidc.clientCredentialsGrant(owner, { scope: 'system/Patient.rs' });
      const own = await oidc.tokenIntrospection(owner, token);
      assert.equal(own.active, true);
      assert.equal(own.client_id, owner.clientMetadata().client_id);
      const foreign = await oidc.tokenIntrospection(stranger, token);
      assert.deepEqual({ ...foreign }, { active: false }, 'no claims of another client’s token');
    });

    it('revocation: another client cannot end the token; the owner can', async () => {
      const { access_token: token } = await oidc.clientCredentialsGrant(owner, { scope: 'system/Patient.rs' });
      const read = () => t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient', headers: { authorization: `Bearer ${token}` } });
      await oidc.tokenRevocation(stranger, token).then(
        () => undefined,
        (e: unknown) => assert.ok(oauthError(e) !== undefined, String(e)),
      );
      assert.equal((await read()).statusCode, 200, 'still valid after a stranger’s revocation attempt');
      await oidc.tokenRevocation(owner, token);
      assert.equal((await read()).statusCode, 401);
    });

    it("a live token of this tenant presented at another: 401 there, and an access.denied event in its home tenant's trail", async () => {
      const { access_token: token } = await oidc.clientCredentialsGrant(owner, { scope: 'system/Patient.rs' });
      const there = await t.inject({ method: 'GET', url: '/tenants/other/fhir/Patient?name=Anna', headers: { authorization: `Bearer ${token}` } });
      assert.equal(there.statusCode, 401);
      assert.match(String(there.headers['www-authenticate']), /invalid_token/);
      const events = await t.app.audit.query('clinic', { count: 10, actions: ['access.denied'], actor: `client:${owner.clientMetadata().client_id}` });
      assert.deepEqual(events.map((e) => e.detail), ['other-tenant other GET /tenants/other/fhir/Patient']);
      assert.equal((await t.app.audit.query('other', { count: 10, actions: ['access.denied'] })).length, 0);
    });

    it('wrong client secrets at the token endpoint are throttled per address like API keys (429 in OAuth shape) and counted', async () => {
      const { client } = await registerApp(t, 'clinic', { name: 'Guessed', kind: 'backend', role: 'service-reader', scope: 'system/Patient.rs', redirectUris: [] });
      const attempt = (secret: string, remoteAddress: string) =>
        t.app.http.inject({
          method: 'POST',
          url: '/tenants/clinic/oauth/token',
          remoteAddress,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}` },
          payload: 'grant_type=client_credentials&scope=system%2FPatient.rs',
        });
      for (let i = 0; i < credentialThrottlePolicy.sourceMaxFailures; i += 1) assert.equal((await attempt(`wrong-${i}`, '198.51.100.50')).statusCode, 401, `attempt ${i + 1}`);
      const refused = await attempt('wrong-again', '198.51.100.50');
      assert.equal(refused.statusCode, 429, refused.body);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.equal(JSON.parse(refused.body).error, 'temporarily_unavailable');
      assert.equal((await attempt('wrong-elsewhere', '203.0.113.50')).statusCode, 401, 'other addresses are not affected');
      const metrics = (await t.app.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      assert.match(metrics, /^tresor_auth_failures_total\{method="client_secret"\} (\d+)$/m);
      assert.ok(Number(/^tresor_auth_failures_total\{method="client_secret"\} (\d+)$/m.exec(metrics)?.[1]) >= credentialThrottlePolicy.sourceMaxFailures);
    });
  });
}
