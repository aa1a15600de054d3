import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
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
  });
}
