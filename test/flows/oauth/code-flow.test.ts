import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { Client as FhirKitClient } from 'fhir-kit-client';
import { observation, patient } from '../../support/harness.js';
import { Browser, isPage } from '../../support/browser.js';
import { authorize, discover, engines, oauthError, person, redirectUri, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';


/**
 * Authorization code + PKCE with real clients: openid-client does discovery, the code exchange,
 * refresh, revocation and introspection against the running server; a minimal browser follows
 * the sign-in and consent pages over HTTP; fhir-kit-client then uses the access token.
 */
for (const engine of engines()) {
  describe(`OAuth authorization code + SMART scopes (${engine})`, () => {
    let t: OAuthTestApp;
    let key: string;
    let alice: string;
    let bob: string;
    let clientId: string;
    let config: oidc.Configuration;
    const appScope = 'openid fhirUser offline_access launch/patient patient/Observation.rs patient/Patient.r';
    const secrets: string[] = [];

    before(async () => {
      t = await startOAuthApp(engine);
      key = await t.tenant('clinic');
      await t.tenant('other');
      const created = async (body: unknown) => JSON.parse((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body })).body).id as string;
      alice = await created(patient());
      bob = await created(patient({ name: [{ family: 'Other', given: ['Bob'] }] }));
      for (const p of [alice, alice, bob]) await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key, body: observation(p) });
      await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid fhirUser offline_access launch/patient patient/Observation.rs patient/Patient.r patient/Observation.c' });
      clientId = client.clientId;
      secrets.push(clientSecret as string);
      config = await discover(t, 'clinic', clientId, clientSecret);
    });
    after(async () => t.close());

    it('discovery: one issuer per tenant, PKCE S256 only, RS256 keys, SMART configuration on the FHIR base', async () => {
      const meta = config.serverMetadata();
      assert.equal(meta.issuer, t.issuer('clinic'));
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.ok(!('registration_endpoint' in meta), 'no dynamic registration');
      const jwks = (await (await fetch(meta.jwks_uri as string)).json()) as { keys: Array<Record<string, unknown>> };
      assert.equal(jwks.keys[0]?.['kty'], 'RSA');
      assert.ok(jwks.keys.every((k) => k['d'] === undefined), 'only public keys are published');
      const smart = (await (await fetch(`${t.fhirBase('clinic')}/.well-known/smart-configuration`)).json()) as Record<string, unknown>;
      assert.equal(smart['issuer'], t.issuer('clinic'));
      assert.equal(smart['token_endpoint'], meta.token_endpoint);
      assert.deepEqual(smart['code_challenge_methods_supported'], ['S256']);
      assert.ok((smart['capabilities'] as string[]).includes('permission-v2'));
    });

    it('the consent page names the app, its publisher and each permission in plain words, without any script', async () => {
      const { consentPage, tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: appScope });
      assert.match(consentPage.html, /Step Counter/);
      assert.match(consentPage.html, /Example Health GmbH/);
      assert.match(consentPage.html, /Read and search your observations/);
      assert.match(consentPage.html, /Keep access when you are not using it/);
      assert.doesNotMatch(consentPage.html, /<script/i);
      assert.match(consentPage.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.doesNotMatch(consentPage.headers.get('content-security-policy') ?? '', /script-src/);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.expires_in, 600, 'access tokens live 10 minutes');
      assert.ok(tokens.refresh_token !== undefined, 'offline_access gives a refresh token');
      assert.equal((tokens as unknown as Record<string, unknown>)['patient'], alice, 'SMART launch context: the patient');
      const claims = tokens.claims();
      assert.equal(claims?.['fhirUser'], `${t.fhirBase('clinic')}/Patient/${alice}`);
    });

    it("a token for patient X with patient/Observation.rs reads X's observations and nothing else, and writes nothing it has no scope for", async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Observation.rs' });
      const fhir = new FhirKitClient({ baseUrl: t.fhirBase('clinic'), bearerToken: tokens.access_token });
      const bundle = (await fhir.search({ resourceType: 'Observation' })) as unknown as { total: number; entry: Array<{ resource: { subject: { reference: string } } }> };
      assert.equal(bundle.total, 2);
      assert.ok(bundle.entry.every((e) => e.resource.subject.reference === `Patient/${alice}`));
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      const bobs = JSON.parse((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation?subject=Patient/${bob}`, key })).body).entry[0].resource.id as string;
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${bobs}`, headers: bearer })).statusCode, 403, "another patient's record");
      const readPatient = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${alice}`, headers: bearer });
      assert.equal(readPatient.statusCode, 403, 'no Patient scope in this token');
      assert.match(String(readPatient.headers['www-authenticate']), /insufficient_scope/);
      const write = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', headers: bearer, body: observation(alice) });
      assert.equal(write.statusCode, 403, 'rs is not c');
      const bundleWrite = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir', headers: bearer, body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: observation(alice), request: { method: 'POST', url: 'Observation' } }] } });
      assert.notEqual(bundleWrite.statusCode, 200, 'nor inside a Bundle');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/audit', headers: bearer })).statusCode, 403, 'no scope opens the audit trail to an app');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/accounts', headers: bearer })).statusCode, 401, 'nor anything beyond the FHIR API');
    });

    it('every data access records the client app; token and consent events are in the audit trail', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } });
      await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      const events = await t.app.audit.query('clinic', { count: 50 });
      const search = events.find((e) => e.action === 'record.searched');
      assert.equal(search?.actor.client, `oauth:${clientId}`);
      for (const action of ['token.issued', 'token.refreshed', 'consent.granted']) {
        const found = events.find((e) => e.action === action);
        assert.ok(found !== undefined, action);
        assert.equal(found.actor.client, `oauth:${clientId}`, action);
      }
    });

    it('refresh tokens rotate on every use; presenting a spent one revokes the whole grant and raises token.reuse_detected', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      const first = tokens.refresh_token as string;
      const second = await oidc.refreshTokenGrant(config, first);
      assert.notEqual(second.refresh_token, first, 'rotated');
      const read = (token: string) => t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await read(second.access_token)).statusCode, 200);
      await assert.rejects(oidc.refreshTokenGrant(config, first), (e: { error?: string }) => e.error === 'invalid_grant', 'the spent token is refused');
      await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token as string), (e: { error?: string }) => e.error === 'invalid_grant', 'and so is its successor');
      assert.equal((await read(second.access_token)).statusCode, 401, 'every access token of the grant is dead');
      const reuse = (await t.app.audit.query('clinic', { count: 5, actions: ['token.reuse_detected'] }))[0];
      assert.equal(reuse?.outcome, 'failure');
      assert.match(reuse?.detail ?? '', /revoked/);
    });

    it('scope escalation at refresh is refused', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string, { scope: 'openid offline_access patient/Observation.rs patient/Observation.c' }), (e: { error?: string }) => e.error === 'invalid_scope');
    });

    it('revocation (RFC 7009) ends an access token at once; introspection (RFC 7662) tells', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Observation.rs' });
      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
      await oidc.tokenRevocation(config, tokens.access_token);
      assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
      const read = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(read.statusCode, 401);
      assert.match(String(read.headers['www-authenticate']), /invalid_token/);
      assert.ok((await t.app.audit.query('clinic', { count: 5, actions: ['token.revoked'] })).length > 0);
    });

    it('an access token expires after 10 minutes', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Observation.rs' });
      const read = () => t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal((await read()).statusCode, 200);
      t.advance(10 * 60_000 + 1000);
      assert.equal((await read()).statusCode, 401);
    });

    it("a token of one tenant is refused at another, and the app is unknown there", async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Observation.rs' });
      const there = await t.inject({ method: 'GET', url: '/tenants/other/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(there.statusCode, 401);
      await assert.rejects(discover(t, 'other', clientId, secrets[0]).then((c) => oidc.clientCredentialsGrant(c, { scope: 'system/Patient.r' })), (e) => oauthError(e) === 'invalid_client');
    });

    it('refusals at the authorization endpoint: wrong redirect URI, missing PKCE, plain PKCE, unregistered scope', async () => {
      const meta = config.serverMetadata();
      const authUrl = (params: Record<string, string>) => `${meta.authorization_endpoint}?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid patient/Observation.rs', state: 's', ...params })}`;
      const browser = new Browser();
      const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
      // Not registered exactly: an error page, never a redirect to it (RFC 6749 §4.1.2.1).
      for (const wrong of [`${redirectUri}/x`, 'http://127.0.0.1:9/callback?x=1', 'https://evil.example/callback']) {
        const page = await browser.request(authUrl({ redirect_uri: wrong, code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.equal(page.status, 400, wrong);
        assert.equal(page.headers.get('location'), null);
      }
      const errorOf = async (params: Record<string, string>) => {
        const page = await browser.request(authUrl({ redirect_uri: redirectUri, ...params }));
        const location = new URL(page.headers.get('location') ?? 'http://x/');
        return [location.origin + location.pathname, location.searchParams.get('error')];
      };
      assert.deepEqual(await errorOf({}), [redirectUri, 'invalid_request'], 'PKCE is required');
      assert.deepEqual(await errorOf({ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }), [redirectUri, 'invalid_request'], 'plain is refused');
      assert.deepEqual(await errorOf({ code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid user/*.cruds' }), [redirectUri, 'invalid_scope'], 'not registered for the app');
      assert.deepEqual(await errorOf({ code_challenge: challenge, code_challenge_method: 'S256', aud: 'https://elsewhere.example/fhir' }), [redirectUri, 'invalid_request'], 'aud is not this server');
    });

    it('an authorization code works once; a wrong verifier or a wrong client secret is refused', async () => {
      const browser = new Browser();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid patient/Observation.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
      let step = await browser.follow(url.href, redirectUri);
      assert.ok(isPage(step));
      step = await browser.submit(step, '/login', { email: 'alice@example.org', password: testPassword }, redirectUri);
      assert.ok(isPage(step));
      const done = await browser.submit(step, '/consent', { decision: 'allow' }, redirectUri);
      assert.ok(!isPage(done));
      const callback = new URL(done.redirectedTo);
      await assert.rejects(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: 'st' }), (e) => oauthError(e) === 'invalid_grant', 'wrong verifier');
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      await assert.rejects(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st' }), (e) => oauthError(e) === 'invalid_grant', 'code reused');
      // RFC 6749 §4.1.2: a code used twice revokes what it gave.
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 401);
      const wrongSecret = await discover(t, 'clinic', clientId, 'not-the-secret');
      await assert.rejects(oidc.refreshTokenGrant(wrongSecret, 'whatever'), (e) => oauthError(e) === 'invalid_client');
    });

    it('a person who does not allow it sends the app away with access_denied, and that is recorded', async () => {
      const browser = new Browser();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid patient/Observation.rs patient/Observation.c', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 'st' });
      let step = await browser.follow(url.href, redirectUri);
      assert.ok(isPage(step));
      step = await browser.submit(step, '/login', { email: 'alice@example.org', password: testPassword }, redirectUri);
      assert.ok(isPage(step));
      const done = await browser.submit(step, '/consent', { decision: 'deny' }, redirectUri);
      assert.ok(!isPage(done));
      assert.equal(new URL(done.redirectedTo).searchParams.get('error'), 'access_denied');
      assert.ok((await t.app.audit.query('clinic', { count: 5, actions: ['consent.refused'] })).length > 0);
    });

    it('a wrong password on the sign-in page says so, keeps the person on the page, and is audited', async () => {
      const browser = new Browser();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid patient/Observation.rs', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 'st' });
      const step = await browser.follow(url.href, redirectUri);
      assert.ok(isPage(step));
      const failed = await browser.submit(step, '/login', { email: 'alice@example.org', password: 'not the right password at all' }, redirectUri);
      assert.ok(isPage(failed));
      assert.equal(failed.status, 401);
      assert.match(failed.html, /role="alert"/);
      assert.match(failed.html, /aria-invalid="true"/);
      assert.match(failed.html, /<label for="email">/, 'inputs are labelled');
      assert.match(failed.html, /autocomplete="current-password"/);
      const noCsrf = await browser.request(`${new URL(step.url).origin}${/action="([^"]*\/login)"/.exec(step.html)?.[1] ?? ''}`, { form: { email: 'alice@example.org', password: testPassword } });
      assert.equal(noCsrf.status, 403, 'a form without its CSRF token is refused');
      assert.ok((await t.app.audit.query('clinic', { count: 10, actions: ['auth.login_failed'] })).length > 0);
    });

    it("connected apps: a person lists the apps they allowed and withdraws one; its tokens stop at once", async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      const login = await t.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'alice@example.org', password: testPassword }) });
      const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
      const csrf = JSON.parse(login.body).csrfToken as string;
      const listed = JSON.parse((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/apps', headers: { cookie } })).body).apps as Array<{ grantId: string; name: string; publisher: string; scope: string }>;
      const mine = listed.find((a) => a.scope.includes('offline_access'));
      assert.ok(mine !== undefined);
      assert.equal(mine.name, 'Step Counter');
      assert.equal(mine.publisher, 'Example Health GmbH');
      const grantOf = (await oidc.tokenIntrospection(config, tokens.access_token)) as unknown as Record<string, unknown>;
      assert.equal(grantOf['active'], true);
      // Withdraw every consent listed (the earlier tests made several).
      for (const app of listed) assert.equal((await t.inject({ method: 'DELETE', url: `/tenants/clinic/auth/apps/${app.grantId}`, headers: { cookie, 'x-csrf-token': csrf } })).statusCode, 204);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 401);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string), (e: { error?: string }) => e.error === 'invalid_grant');
      assert.equal(JSON.parse((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/apps', headers: { cookie } })).body).apps.length, 0);
      assert.equal((await t.inject({ method: 'DELETE', url: `/tenants/clinic/auth/apps/${listed[0]?.grantId ?? 'x'}`, headers: { cookie, 'x-csrf-token': csrf } })).statusCode, 404);
      assert.ok((await t.app.audit.query('clinic', { count: 5, actions: ['consent.revoked'] })).length > 0);
    });

    it('connected apps as a page: a patient signs in, sees each app with its publisher and permissions in plain words, and withdraws one', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      const browser = new Browser();
      const signIn = await browser.follow(`${t.base}/tenants/clinic/account/apps`, redirectUri);
      assert.ok(isPage(signIn));
      assert.equal(signIn.status, 200);
      assert.equal(signIn.url, `${t.base}/tenants/clinic/account/sign-in?next=%2Ftenants%2Fclinic%2Faccount%2Fapps`, 'without a session the page sends the person to sign in, and back');
      assert.match(signIn.html, /<h1>Sign in<\/h1>/);
      assert.match(signIn.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const forged = await new Browser().request(`${t.base}/tenants/clinic/account/sign-in`, { form: { csrf: 'x', email: 'alice@example.org', password: testPassword } });
      assert.equal(forged.status, 403, 'a sign-in form without its CSRF pair is refused');
      const list = await browser.submit(signIn, '/sign-in', { email: 'alice@example.org', password: testPassword }, redirectUri);
      assert.ok(isPage(list));
      assert.match(list.html, /<h1>Connected apps<\/h1>/);
      assert.match(list.html, /Step Counter/);
      assert.match(list.html, /<dt>Published by<\/dt><dd>Example Health GmbH<\/dd>/);
      assert.match(list.html, /Read and search your observations/);
      assert.doesNotMatch(list.html, /<script/i);
      const withdrawn = await browser.submit(list, '/withdraw', {}, redirectUri);
      assert.ok(isPage(withdrawn));
      assert.match(withdrawn.html, /Access withdrawn/);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 401);
      const noCsrf = await browser.request(`${t.base}${/action="([^"]*\/withdraw)"/.exec(list.html)?.[1] ?? '/tenants/clinic/account/apps/x/withdraw'}`, { form: { csrf: 'wrong' } });
      assert.ok(noCsrf.status === 403 || noCsrf.status === 404, 'withdrawing needs the session’s CSRF token');
      const signedOut = await browser.submit(withdrawn, '/sign-out', {}, redirectUri);
      assert.ok(isPage(signedOut));
      assert.match(signedOut.html, /You are signed out/);
      const again = await browser.request(`${t.base}/tenants/clinic/account/apps`);
      assert.equal(again.status, 303, 'the session ended: the apps page sends to sign-in again');
    });

    it('no token, code, secret or password reaches the logs', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid offline_access patient/Observation.rs' });
      await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      const logs = t.logs.join('\n');
      for (const secret of [tokens.access_token, tokens.refresh_token as string, tokens.id_token as string, ...secrets, testPassword]) assert.ok(!logs.includes(secret), 'a secret was logged');
      assert.doesNotMatch(logs, /[?&]code=/);
    });
  });
}
