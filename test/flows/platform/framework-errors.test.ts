import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** The HTML pages that take forms: sign-in, second factor, consent, connected apps. */
const pagePosts = [
  '/tenants/clinic/account/sign-in',
  '/tenants/clinic/account/second-factor',
  '/tenants/clinic/account/apps/grant1/withdraw',
  '/tenants/clinic/account/sign-out',
  '/tenants/clinic/oauth/interaction/abcdefghijklmnopqrstu/login',
  '/tenants/clinic/oauth/interaction/abcdefghijklmnopqrstu/second-factor',
  '/tenants/clinic/oauth/interaction/abcdefghijklmnopqrstu/passkey-options',
  '/tenants/clinic/oauth/interaction/abcdefghijklmnopqrstu/abort',
  '/tenants/clinic/oauth/interaction/abcdefghijklmnopqrstu/consent',
];

for (const engine of engines()) {
  describe(`malformed requests get 4xx in each surface's shape [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    });
    after(() => t.close());

    it('refuses an oversized form on every page with a 413 page', async () => {
      const form = `email=${'a'.repeat(40_000)}`;
      for (const url of pagePosts) {
        const response = await t.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
        assert.equal(response.statusCode, 413, url);
        assert.match(String(response.headers['content-type']), /^text\/html/, url);
      }
    });

    it('refuses a page form of another media type with a 415 page', async () => {
      for (const url of pagePosts) {
        const response = await t.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain' }, body: 'email=a' });
        assert.equal(response.statusCode, 415, url);
        assert.match(String(response.headers['content-type']), /^text\/html/, url);
      }
    });

    it('refuses a search with too many parameters or terms with a 400 OperationOutcome', async () => {
      const anded = Array.from({ length: 1000 }, () => 'gender=female').join('&');
      const many = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient?${anded}`, key });
      assert.equal(many.statusCode, 400);
      assert.equal(errorCode(many), 'search-invalid');
      const ored = Array.from({ length: 20 }, () => `name=${Array.from({ length: 100 }, (_, i) => `n${i}`).join(',')}`).join('&');
      const terms = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient?${ored}`, key });
      assert.equal(terms.statusCode, 400);
      assert.equal(errorCode(terms), 'search-invalid');
      const posted = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient/_search', key, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: anded });
      assert.equal(posted.statusCode, 400);
      assert.equal(errorCode(posted), 'search-invalid');
      const fine = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?gender=female&name=muller', key });
      assert.equal(fine.statusCode, 200);
      assert.equal(json(fine)['total'], 1);
    });

    it('answers FHIR body errors as OperationOutcomes', async () => {
      const cases: Array<[headers: Record<string, string>, body: string, status: number, code: string]> = [
        [{ 'content-type': 'text/plain' }, 'hello', 415, 'media-type-unsupported'],
        [{ 'content-type': 'application/fhir+json' }, '{"resourceType":', 400, 'body-invalid'],
        [{ 'content-type': 'application/fhir+json' }, `{"resourceType":"Patient","x":"${'a'.repeat(1_100_000)}"}`, 413, 'body-too-large'],
      ];
      for (const [headers, body, status, code] of cases) {
        const response = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, headers, body });
        assert.equal(response.statusCode, status, code);
        assert.equal(json(response)['resourceType'], 'OperationOutcome');
        assert.equal(errorCode(response), code);
      }
    });

    it('answers a URL that does not decode in the surface’s shape, without quoting it', async () => {
      const fhir = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient/%E0%A4%A', key });
      assert.equal(fhir.statusCode, 400);
      assert.equal(json(fhir)['resourceType'], 'OperationOutcome');
      assert.equal(errorCode(fhir), 'request-invalid');
      const api = await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions/%E0%A4%A' });
      assert.equal(api.statusCode, 400);
      assert.match(String(api.headers['content-type']), /^application\/problem\+json/);
      assert.equal(errorCode(api), 'request-invalid');
      assert.ok(!fhir.body.includes('%E0') && !api.body.includes('%E0'));
    });

    it('answers JSON API body errors as problem+json', async () => {
      const cases: Array<[headers: Record<string, string>, body: string, status: number, code: string]> = [
        [{ 'content-type': 'text/plain' }, 'hello', 415, 'media-type-unsupported'],
        [{ 'content-type': 'application/json' }, '{"email":', 400, 'body-invalid'],
        [{ 'content-type': 'application/json' }, `{"email":"${'a'.repeat(40_000)}"}`, 413, 'body-too-large'],
      ];
      for (const [headers, body, status, code] of cases) {
        const response = await t.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers, body });
        assert.equal(response.statusCode, status, code);
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
        assert.equal(errorCode(response), code);
      }
    });
  });
}
