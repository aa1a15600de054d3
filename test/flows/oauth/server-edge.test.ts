import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { engines, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { authorize, discover, person, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';

/** Every string in a JSON document that is an absolute http(s) URL. */
function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^https?:\/\//.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(urlsIn);
  return [];
}

/**
 * What the server derives from a request and sends back: with `server.publicUrl` set, no URL it
 * gives out may come from the Host (or, behind a trusted proxy, X-Forwarded-*) header, or a
 * forged header would point clients' token requests at an attacker.
 */
describe('URLs come from server.publicUrl, never from a forged Host header', () => {
  let t: TestApp;
  let key: string;
  const publicUrl = 'https://vault.example.org';
  const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' };

  before(async () => {
    t = await startTestApp('sqlite', { server: { publicUrl, trustProxy: true } });
    key = await t.tenant('clinic');
  });
  after(() => t.close());

  it('OIDC discovery: every endpoint under the issuer', async () => {
    const response = await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/.well-known/openid-configuration', headers: forged });
    assert.equal(response.statusCode, 200);
    const meta = JSON.parse(response.body) as Record<string, unknown>;
    assert.equal(meta['issuer'], `${publicUrl}/tenants/clinic/oauth`);
    assert.equal(meta['token_endpoint'], `${publicUrl}/tenants/clinic/oauth/token`);
    const urls = urlsIn(meta);
    assert.ok(urls.length > 5);
    for (const url of urls) assert.ok(url.startsWith(`${publicUrl}/tenants/clinic/`), url);
  });

  it('SMART configuration, the CapabilityStatement and Location', async () => {
    const smart = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/.well-known/smart-configuration', headers: forged });
    for (const url of urlsIn(JSON.parse(smart.body))) assert.ok(url.startsWith(`${publicUrl}/tenants/clinic/`), url);
    const metadata = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/metadata', key, headers: forged });
    assert.ok(!metadata.body.includes('evil.example'));
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient(), headers: forged });
    assert.equal(created.statusCode, 201);
    assert.ok(String(created.headers['location']).startsWith(`${publicUrl}/tenants/clinic/fhir/Patient/`));
  });

  it('the authorization endpoint sends the browser on without naming the forged host', async () => {
    const { client } = await registerApp(t, 'clinic', { kind: 'public', scope: 'openid patient/Observation.rs' });
    const query = new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: 'openid patient/Observation.rs', redirect_uri: 'http://127.0.0.1:9/callback', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's' });
    const response = await t.inject({ method: 'GET', url: `/tenants/clinic/oauth/auth?${query}`, headers: forged });
    assert.ok(response.statusCode >= 300 && response.statusCode < 400, String(response.statusCode));
    assert.ok(!String(response.headers['location']).includes('evil.example'), String(response.headers['location']));
  });
});

for (const engine of engines()) {
  describe(`SMART token responses name every granted scope (${engine})`, () => {
    let t: OAuthTestApp;
    let config: oidc.Configuration;

    before(async () => {
      t = await startOAuthApp(engine);
      const key = await t.tenant('clinic');
      const alice = JSON.parse((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).body).id as string;
      await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid fhirUser offline_access launch/patient patient/*.rs' });
      config = await discover(t, 'clinic', client.clientId, clientSecret);
    });
    after(() => t.close());

    // SMART App Launch 2.x §"Response to an access token request": `scope` lists the scopes
    // granted; fhirclient refuses to refresh when neither offline_access nor online_access is in it.
    it('openid fhirUser launch/patient offline_access patient/*.rs: all five, at the code exchange and at refresh', async () => {
      const scope = 'openid fhirUser launch/patient offline_access patient/*.rs';
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope });
      assert.deepEqual(String(tokens.scope).split(' ').sort(), scope.split(' ').sort());
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      assert.deepEqual(String(refreshed.scope).split(' ').sort(), scope.split(' ').sort());
    });

    it('a refresh asking for less gets less, and says so', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' });
      const narrowed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string, { scope: 'openid offline_access patient/*.rs' });
      assert.deepEqual(String(narrowed.scope).split(' ').sort(), ['offline_access', 'openid', 'patient/*.rs']);
    });
  });
}

/**
 * RFC 6797: over TLS every response carries Strict-Transport-Security — the OAuth server's too,
 * which writes its responses itself. Discovery documents and keys may be cached for a while;
 * tokens never (RFC 6749 §5.1).
 */
describe('headers over TLS on every surface', () => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await startTestApp('sqlite', { server: { tls: { enabled: true, hstsMaxAgeSeconds: 31_536_000 } } });
    key = await t.tenant('clinic');
  });
  after(() => t.close());

  const hsts = 'max-age=31536000; includeSubDomains';

  it('Strict-Transport-Security on the OAuth server, FHIR, pages, problem+json and the health check', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const responses = {
      discovery: await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/.well-known/openid-configuration' }),
      jwks: await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/jwks' }),
      token: await t.app.http.inject({ method: 'POST', url: '/tenants/clinic/oauth/token', headers: form, payload: 'grant_type=authorization_code&code=x' }),
      authorize: await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/auth?client_id=nobody' }),
      unknownOAuthPath: await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/nothing-here' }),
      smart: await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/.well-known/smart-configuration' }),
      fhir: await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/metadata', key }),
      fhirError: await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient/nope', key }),
      page: await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/interaction/abcdefghijkl' }),
      stylesheet: await t.inject({ method: 'GET', url: '/assets/tresor.css' }),
      problem: await t.inject({ method: 'GET', url: '/no/such/endpoint' }),
      health: await t.inject({ method: 'GET', url: '/healthz' }),
    };
    for (const [name, response] of Object.entries(responses)) assert.equal(response.headers['strict-transport-security'], hsts, name);
  });

  it('discovery and JWKS may be cached briefly; token responses never', async () => {
    for (const url of ['/tenants/clinic/oauth/.well-known/openid-configuration', '/tenants/clinic/oauth/jwks', '/tenants/clinic/fhir/.well-known/smart-configuration']) {
      const response = await t.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['cache-control'], 'public, max-age=300', url);
    }
    const { client, clientSecret } = await registerApp(t, 'clinic', { kind: 'backend', scope: 'system/Patient.rs', authMethod: 'client_secret_basic', role: 'service-reader', redirectUris: [] });
    const token = await t.app.http.inject({
      method: 'POST',
      url: '/tenants/clinic/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}` },
      payload: `grant_type=client_credentials&scope=${encodeURIComponent('system/Patient.rs')}`,
    });
    assert.equal(token.statusCode, 200, token.body);
    assert.equal(token.headers['cache-control'], 'no-store');
    assert.equal(token.headers['strict-transport-security'], hsts);
    const refused = await t.app.http.inject({ method: 'POST', url: '/tenants/clinic/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
    assert.equal(refused.headers['cache-control'], 'no-store');
  });
});

/**
 * Development without server.publicUrl: the FHIR base the CapabilityStatement and Location give
 * out is the address the client used (https://127.0.0.1:<port>, …), so SMART's `aud` naming it
 * must be accepted — the server's own loopback addresses on its listening port, nothing else.
 */
describe('SMART aud in development without server.publicUrl', () => {
  let t: TestApp;
  let port: number;
  let clientId: string;
  before(async () => {
    t = await startTestApp('sqlite', { server: { tls: { enabled: true } } });
    const key = await t.tenant('clinic');
    port = Number(new URL(await t.app.http.listen({ host: '127.0.0.1', port: 0 })).port);
    ({ clientId } = (await registerApp(t, 'clinic', { kind: 'public', scope: 'openid patient/Observation.rs' })).client);
    void key;
  });
  after(() => t.close());

  /** Where /auth sends the browser, over TLS on the real socket. */
  const authorizeWith = (aud: string, host = `127.0.0.1:${port}`) =>
    new Promise<string>((resolve, reject) => {
      const query = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid patient/Observation.rs', redirect_uri: 'http://127.0.0.1:9/callback', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's', aud });
      const req = httpsRequest({ host: '127.0.0.1', port, path: `/tenants/clinic/oauth/auth?${query}`, headers: { host }, ca: t.app.tls?.cert, servername: 'localhost' }, (res) => {
        res.resume();
        resolve(String(res.headers.location ?? res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });

  it('the base the server itself gives out is accepted: 127.0.0.1, localhost and [::1] on its port', async () => {
    const metadata = await fetchJson(port, '/tenants/clinic/fhir/metadata', t.app.tls?.cert as string);
    const base = String((metadata['implementation'] as { url: string }).url);
    assert.equal(base, `https://127.0.0.1:${port}/tenants/clinic/fhir`);
    for (const aud of [base, `${base}/`, `https://localhost:${port}/tenants/clinic/fhir`, `https://[::1]:${port}/tenants/clinic/fhir`]) {
      const location = await authorizeWith(aud);
      assert.match(location, /\/tenants\/clinic\/oauth\/interaction\//, `${aud}: ${location}`);
    }
  });

  it('another port, scheme, tenant or host is still refused', async () => {
    for (const aud of [`https://127.0.0.1:${port + 1}/tenants/clinic/fhir`, `http://127.0.0.1:${port}/tenants/clinic/fhir`, `https://127.0.0.1:${port}/tenants/other/fhir`, `https://evil.example:${port}/tenants/clinic/fhir`, `https://user@127.0.0.1:${port}/tenants/clinic/fhir`]) {
      const location = await authorizeWith(aud);
      assert.equal(new URL(location).searchParams.get('error'), 'invalid_request', aud);
    }
  });
});

function fetchJson(port: number, path: string, ca: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += String(chunk)));
      res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a server.publicUrl with a path (a proxy in front strips it) and a trailing slash', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { server: { publicUrl: 'https://vault.example.org/tresor/' } });
  });
  after(() => t.close());

  it('gives out URLs under that path, without a doubled slash: Location, links, discovery and the sign-in redirect', async () => {
    const key = await t.tenant('clinic');
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    assert.ok(String(created.headers['location']).startsWith('https://vault.example.org/tresor/tenants/clinic/fhir/Patient/'), String(created.headers['location']));
    const found = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient', key });
    assert.ok(!found.body.includes('tresor//'), 'search links');
    const meta = JSON.parse((await t.inject({ method: 'GET', url: '/tenants/clinic/oauth/.well-known/openid-configuration' })).body) as Record<string, unknown>;
    assert.equal(meta['issuer'], 'https://vault.example.org/tresor/tenants/clinic/oauth');
    for (const url of urlsIn(meta)) assert.ok(url.startsWith('https://vault.example.org/tresor/tenants/clinic/'), url);
    const { client } = await registerApp(t, 'clinic', { kind: 'public', scope: 'openid patient/Observation.rs' });
    const query = new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: 'openid patient/Observation.rs', redirect_uri: 'http://127.0.0.1:9/callback', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's' });
    const started = await t.inject({ method: 'GET', url: `/tenants/clinic/oauth/auth?${query}` });
    assert.match(String(started.headers['location']), /^\/tresor\/tenants\/clinic\/oauth\/interaction\//);
    assert.ok([started.headers['set-cookie']].flat().every((c) => String(c).includes('path=/tresor/tenants/clinic/oauth')), String(started.headers['set-cookie']));
  });
});
