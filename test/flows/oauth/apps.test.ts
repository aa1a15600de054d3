import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { Client as FhirKitClient } from 'fhir-kit-client';
import { observation, patient } from '../../support/harness.js';
import { authorize, discover, engines, oauthError, person, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { tresor } from '../../support/cli.js';
import { as, signInWithTotp, type Person } from '../../support/people.js';


/**
 * Apps and who may do what through them: SMART Backend Services (client credentials with
 * private_key_jwt, or a secret), the app register (API and CLI), and the person's role capping
 * every token (user/ scopes for staff, the clinician's care relationships for patient/ scopes).
 */
for (const engine of engines()) {
  describe(`OAuth apps, backend services and role caps (${engine})`, () => {
    let t: OAuthTestApp;
    let key: string;
    let adminKey: string;
    let admin: Person;
    let alice: string;
    let bob: string;
    const practitioner = 'Practitioner/dr-lee';

    before(async () => {
      t = await startOAuthApp(engine);
      key = await t.tenant('clinic');
      adminKey = await t.key('clinic', 'tenant-admin');
      await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-lee', key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
      const created = async (body: unknown) => JSON.parse((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body })).body).id as string;
      alice = await created(patient({ generalPractitioner: [{ reference: practitioner }], deceasedBoolean: false }));
      bob = await created(patient());
      for (const p of [alice, bob]) await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key, body: observation(p) });
      // Staff sign in to apps with a password only here; the default policy (staff need a second factor) is tested below.
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      await person(t, 'clinic', 'clinician', 'lee@example.org', { practitioner });
      await person(t, 'clinic', 'front-desk', 'desk@example.org');
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@example.org', () => Date.now());
    });
    after(async () => t.close());

    it('SMART Backend Services: private_key_jwt client credentials, registered with the CLI, read with a FHIR client; the service role and the scopes both cap it', async () => {
      const keys = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      const jwk = { ...(await webcrypto.subtle.exportKey('jwk', keys.publicKey)), kid: 'backend-1', alg: 'RS256', use: 'sig' };
      const jwksFile = join(t.dataDir, 'backend-jwks.json');
      writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
      // The CLI works on the same data set while the server runs.
      const env = { TRESOR_DATA_DIR: t.dataDir, ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix } : {}), TRESOR_PUBLIC_URL: t.base };
      const cli = tresor(['client', 'create', '--tenant', 'clinic', '--name', 'Nightly export', '--publisher', 'Clinic IT', '--kind', 'backend', '--auth', 'private_key_jwt', '--jwks-file', jwksFile, '--scope', 'system/Patient.rs system/Observation.cruds', '--role', 'service-reader'], env);
      assert.equal(cli.code, 0, cli.stderr);
      const clientId = cli.stdout.trim().split('\n').at(-1) as string;
      // Random, but never starting with "-": `tresor client approve <id>` would read that as an option.
      assert.match(clientId, /^app_[A-Za-z0-9_-]{22}$/);
      const config = await discover(t, 'clinic', clientId, oidc.PrivateKeyJwt({ key: keys.privateKey, kid: 'backend-1' }));
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs system/Observation.cruds' });
      assert.equal(tokens.refresh_token, undefined, 'no refresh token for client credentials');
      const fhir = new FhirKitClient({ baseUrl: t.fhirBase('clinic'), bearerToken: tokens.access_token });
      const patients = (await fhir.search({ resourceType: 'Patient' })) as unknown as { total: number };
      assert.equal(patients.total, 2, 'system/ reaches the whole tenant');
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Practitioner/dr-lee`, headers: bearer })).statusCode, 403, 'no scope for Practitioner');
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', headers: bearer, body: observation(alice) })).statusCode, 403, 'a service-reader writes nothing, whatever the scope says');
      const events = await t.app.audit.query('clinic', { count: 20 });
      assert.equal(events.find((e) => e.action === 'record.searched')?.actor.client, `oauth:${clientId}`);
      assert.equal(events.find((e) => e.action === 'token.issued')?.actor.id, `client:${clientId}`);
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'user/Patient.rs' }), (e) => oauthError(e) === 'invalid_scope', 'no user/ scopes for a backend service');
      // A signed client assertion (RFC 7523) works once: the same one again is refused.
      const now = Math.floor(Date.now() / 1000);
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signingInput = `${part({ alg: 'RS256', kid: 'backend-1', typ: 'JWT' })}.${part({ iss: clientId, sub: clientId, aud: config.serverMetadata().token_endpoint, jti: webcrypto.randomUUID(), iat: now, exp: now + 60 })}`;
      const signature = Buffer.from(await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', keys.privateKey, Buffer.from(signingInput))).toString('base64url');
      const tokenRequest = () =>
        fetch(config.serverMetadata().token_endpoint as string, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: `${signingInput}.${signature}` }),
        });
      assert.equal((await tokenRequest()).status, 200, 'a fresh assertion');
      const replay = await tokenRequest();
      assert.equal(((await replay.json()) as { error: string }).error, 'invalid_client', 'a replayed assertion');
      const list = tresor(['client', 'list', '--tenant', 'clinic'], env);
      assert.match(list.stdout, new RegExp(`${clientId}\\tbackend\\tactive\\tNightly export`));
    });

    it('the app register: a tenant admin registers an app and sees its secret once; others may not; a disabled app and its tokens stop', async () => {
      const post = (bearer: string, body: unknown) =>
        t.app.http.inject({ method: 'POST', url: '/tenants/clinic/apps', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      const refused = await post(key, { name: 'X', publisher: 'Y', kind: 'backend', scope: 'system/Patient.r' });
      assert.equal(refused.statusCode, 403, 'a service key has no apps:manage');
      const byAdmin = (method: string, url: string, body?: unknown) => as(t, admin, { method, url, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
      assert.equal((await post(adminKey, { name: 'X', publisher: 'Y', kind: 'backend', scope: 'system/Patient.r' })).statusCode, 403, 'a tenant-admin key is one factor: no changes to the register');
      const created = await byAdmin('POST', '/tenants/clinic/apps', { name: 'Lab import', publisher: 'Lab GmbH', kind: 'backend', scope: 'system/Observation.rs', role: 'service-reader' });
      assert.equal(created.statusCode, 201, created.body);
      const { app, clientSecret } = JSON.parse(created.body) as { app: { clientId: string }; clientSecret: string };
      assert.ok(clientSecret.length >= 43, '256-bit secret');
      // A backend service reaches beyond any tenant admin: a platform operator approves it (escalation.test.ts).
      await t.app.clients.approve('clinic', app.clientId, 'cli:test');
      const listed = await t.inject({ method: 'GET', url: '/tenants/clinic/apps', key: adminKey });
      assert.ok(!listed.body.includes(clientSecret), 'the secret is never shown again');
      const config = await discover(t, 'clinic', app.clientId, clientSecret);
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Observation.rs' });
      const read = () => t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal((await read()).statusCode, 200);
      assert.equal((await byAdmin('POST', `/tenants/clinic/apps/${app.clientId}/disable`)).statusCode, 200);
      assert.equal((await read()).statusCode, 401, 'a disabled app’s tokens stop at once');
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'system/Observation.rs' }), (e) => oauthError(e) === 'invalid_client');
      const bad = await byAdmin('POST', '/tenants/clinic/apps', { name: 'SPA', publisher: 'P', kind: 'public', scope: 'patient/Observation.rs', redirectUris: ['http://evil.example/cb'] });
      assert.equal(bad.statusCode, 400, 'plain http only on loopback');
      assert.equal(JSON.parse(bad.body).code, 'client-invalid');
      const events = await t.app.audit.query('clinic', { count: 20 });
      assert.ok(events.some((e) => e.action === 'app.registered'));
      assert.ok(events.some((e) => e.action === 'app.changed'));
    });

    it('a public app (no secret) connects with PKCE alone', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { kind: 'public', scope: 'openid user/Patient.rs' });
      assert.equal(clientSecret, undefined);
      const config = await discover(t, 'clinic', client.clientId);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'desk@example.org', scope: 'openid user/Patient.rs' });
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 200);
    });

    it("the role caps the token: a front-desk person's app with user/*.cruds sees demographics only and no observations", async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid user/*.cruds' });
      const config = await discover(t, 'clinic', client.clientId, clientSecret);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'desk@example.org', scope: 'openid user/*.cruds' });
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${alice}`, headers: bearer });
      assert.equal(read.statusCode, 200);
      assert.equal(JSON.parse(read.body).meta.security?.[0]?.code, 'REDACTED', 'health elements removed, as for the person');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: bearer })).statusCode, 403);
      assert.equal((await t.inject({ method: 'DELETE', url: `/tenants/clinic/fhir/Patient/${alice}`, headers: bearer })).statusCode, 403);
    });

    it('a clinician connects an app to one patient in their care; a patient outside it is refused on the consent page; no break-the-glass through apps', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid launch/patient patient/Observation.rs' });
      const config = await discover(t, 'clinic', client.clientId, clientSecret);
      await assert.rejects(authorize(t, config, { tenantId: 'clinic', email: 'lee@example.org', scope: 'openid launch/patient patient/Observation.rs', patient: bob }), /not in your care/);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'lee@example.org', scope: 'openid launch/patient patient/Observation.rs', patient: alice });
      assert.equal((tokens as unknown as Record<string, unknown>)['patient'], alice);
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      const found = JSON.parse((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: bearer })).body) as { total: number };
      assert.equal(found.total, 1, "only the launch patient's observations");
      const glass = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation?subject=Patient/${bob}`, headers: { ...bearer, 'x-break-glass-reason': 'Unconscious patient in the emergency room' } });
      assert.equal(glass.statusCode, 403);
      // When the care relationship ends, so does the token.
      await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Patient/${alice}`, key, body: { ...patient(), id: alice } });
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: bearer })).statusCode, 401);
    });

    it("the tenant's second-factor policy holds on the app sign-in page too", async () => {
      await t.app.tenants.setMfaPolicy('clinic', 'staff');
      try {
        const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid user/Patient.rs' });
        const config = await discover(t, 'clinic', client.clientId, clientSecret);
        await assert.rejects(authorize(t, config, { tenantId: 'clinic', email: 'desk@example.org', scope: 'openid user/Patient.rs' }), /Second factor required/);
      } finally {
        await t.app.tenants.setMfaPolicy('clinic', 'optional');
      }
    });

    it('signing keys rotate: the new key signs, the old one stays published for its retention', async () => {
      const before = (await (await fetch(`${t.issuer('clinic')}/jwks`)).json()) as { keys: Array<{ kid: string }> };
      const version = await t.app.oauth.rotateSigningKey('clinic');
      const after = (await (await fetch(`${t.issuer('clinic')}/jwks`)).json()) as { keys: Array<{ kid: string }> };
      assert.equal(after.keys[0]?.kid, `clinic.${version}`);
      assert.ok(after.keys.some((k) => k.kid === before.keys[0]?.kid), 'the previous key is still published');
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid user/Patient.rs' });
      const config = await discover(t, 'clinic', client.clientId, clientSecret);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'desk@example.org', scope: 'openid user/Patient.rs' });
      const header = JSON.parse(Buffer.from((tokens.id_token as string).split('.')[0] as string, 'base64url').toString()) as { kid: string; alg: string };
      assert.deepEqual(header, { ...header, kid: `clinic.${version}`, alg: 'RS256' });
    });
  });
}
