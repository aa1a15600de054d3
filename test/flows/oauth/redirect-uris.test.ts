import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { tresorHere } from '../../support/cli.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInWithTotp, type Person } from '../../support/people.js';

const bad = [
  ['confidential', 'https://user:pw@app.example/cb'],
  ['public', 'https://user@app.example/cb'],
  ['confidential', 'https://*/cb'],
  ['public', 'https://*.app.example/cb'],
  ['confidential', 'http://localhost/cb'],
  ['public', 'http://localhost:8080/cb'],
] as const;

/** RFC 9700 §4.1.3: redirect URIs are exact and credential-free, wherever an app is registered. */
for (const engine of engines()) {
  describe(`app registration refuses unsafe redirect URIs [${engine}]`, () => {
    let t: TestApp;
    let admin: Person;
    let cliEnv: Record<string, string>;
    const clock = fixedClock(new Date());

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', () => clock.now().getTime());
      cliEnv = { TRESOR_DATA_DIR: t.dataDir, ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix } : {}) };
    });
    after(() => t.close());

    it('POST /tenants/{t}/apps: userinfo, a wildcard host and http://localhost are 400 client-invalid (problem+json) naming the rule', async () => {
      for (const [kind, uri] of bad) {
        const response = await as(t, admin, { method: 'POST', url: '/tenants/clinic/apps', body: { name: 'App', publisher: 'P', kind, scope: 'patient/Observation.rs', redirectUris: [uri] }, headers: { 'content-type': 'application/json' } });
        assert.equal(response.statusCode, 400, `${kind} ${uri}: ${response.body}`);
        assert.equal(errorCode(response), 'client-invalid');
        assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        assert.match(json(response)['title'] as string, /RFC (9700|8252)/);
      }
      assert.equal((await t.app.clients.list('clinic')).length, 0, 'nothing registered');
    });

    it('tresor client create: the same URIs are refused (exit 1)', async () => {
      for (const [kind, uri] of bad) {
        const run = await tresorHere(['client', 'create', '--tenant', 'clinic', '--name', 'App', '--publisher', 'P', '--kind', kind, '--scope', 'patient/Observation.rs', '--redirect-uri', uri], cliEnv);
        assert.equal(run.code, 1, `${kind} ${uri}: ${run.stdout}`);
        assert.match(run.stderr, /redirect URI/i);
      }
      assert.equal((await t.app.clients.list('clinic')).length, 0, 'nothing registered');
    });
  });
}
