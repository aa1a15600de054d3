import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentialThrottlePolicy } from '../../../src/identity/index.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * Guessing API keys and access tokens is throttled per source address like sign-ins (OWASP ASVS
 * 5 V6.1.1, V6.3.1): past the address's budget of failures it is refused with 429 and
 * Retry-After, in the shape of the surface it called, before any credential is checked; other
 * addresses are unaffected. Every failure counts in /metrics (no credential in any label).
 */
for (const engine of engines()) {
  describe(`failed API-key and access-token authentication is throttled and counted [${engine}]`, () => {
    let t: TestApp;
    let key: string;

    const call = (url: string, bearer: string, remoteAddress: string) => t.app.http.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `Bearer ${bearer}` } });
    const metric = async (name: string, method: string): Promise<number> => {
      const text = (await t.app.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${name}{method="${method}"}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('a well-formed but wrong key is 401 until the address has spent its budget, then 429 with Retry-After on every surface', async () => {
      const forged = key.slice(0, -6) + 'AAAAAA';
      const guesser = '198.51.100.7';
      for (let i = 0; i < credentialThrottlePolicy.sourceMaxFailures; i++) {
        const response = await call('/tenants/clinic/fhir/Patient', i % 2 === 0 ? forged : 'not-a-token-at-all-but-long-enough', guesser);
        assert.equal(response.statusCode, 401, `attempt ${i + 1}`);
      }
      const fhir = await call('/tenants/clinic/fhir/Patient', forged, guesser);
      assert.equal(fhir.statusCode, 429, fhir.body);
      assert.equal(json(fhir)['resourceType'], 'OperationOutcome');
      assert.equal(errorCode(fhir), 'auth-throttled');
      assert.ok(Number(fhir.headers['retry-after']) > 0, 'Retry-After');
      const problem = await call('/tenants/clinic/audit?limit=1', forged, guesser);
      assert.equal(problem.statusCode, 429);
      assert.match(String(problem.headers['content-type']), /application\/problem\+json/);
      assert.equal(errorCode(problem), 'auth-throttled');
      assert.equal((await call('/tenants/clinic/fhir/Patient', key, guesser)).statusCode, 429, 'the address is refused, whatever it presents, like a throttled sign-in');
      assert.equal((await call('/tenants/clinic/fhir/Patient', key, '203.0.113.9')).statusCode, 200, 'other addresses are not affected');
    });

    it('/metrics counts the failures by method, and no label carries a credential', async () => {
      assert.ok((await metric('tresor_auth_failures_total', 'api_key')) >= credentialThrottlePolicy.sourceMaxFailures / 2);
      assert.ok((await metric('tresor_auth_failures_total', 'access_token')) >= credentialThrottlePolicy.sourceMaxFailures / 2);
      assert.ok((await metric('tresor_auth_throttled_total', 'api_key')) >= 1);
      const text = (await t.app.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      assert.ok(!text.includes('tresor_sk_') && !text.includes('198.51.100.7'), 'no key or address in metrics');
    });
  });
}
