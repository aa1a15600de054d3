import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceTypes } from '../../../src/records/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

const hostile = [
  "' OR '1'='1",
  "1; DROP TABLE resources; --",
  '"); DELETE FROM search_index; --',
  '<script>alert(1)</script>',
  '%00',
  '\\',
  '\\,\\|\\$',
  '||||',
  ',,,',
  'ge',
  'eq',
  'Patient/../../etc/passwd',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍⚕️',
  '\u202E\u200B\uFEFF',
  'a'.repeat(3000),
  '%',
  '_',
  '*',
];

/** Every search parameter of every type, and every path segment, with hostile values: the answer is 200 or a 4xx, never a 5xx, and the data is intact. */
for (const engine of engines()) {
  describe(`hostile values in every parameter [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    });
    after(() => t.close());

    it('never answers 5xx to a search', async () => {
      for (const definition of resourceTypes) {
        const names = ['_id', '_lastUpdated', '_count', '_sort', '_offset', '_total', ...definition.searchParams.map((p) => p.name)];
        for (const name of names) {
          for (const value of hostile) {
            const response = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${definition.type}?${encodeURIComponent(name)}=${encodeURIComponent(value)}`, key });
            assert.ok(response.statusCode === 200 || (response.statusCode >= 400 && response.statusCode < 500), `${definition.type}?${name}=${value.slice(0, 20)} → ${response.statusCode}`);
          }
        }
      }
      assert.equal(json(await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient', key }))['total'], 1, 'data intact');
    });

    it('never answers 5xx to hostile path segments', async () => {
      for (const value of hostile) {
        const segment = encodeURIComponent(value);
        for (const url of [`/tenants/${segment}/fhir/Patient`, `/tenants/clinic/fhir/${segment}`, `/tenants/clinic/fhir/Patient/${segment}`, `/tenants/clinic/fhir/Patient/${segment}/_history/${segment}`]) {
          const response = await t.inject({ method: 'GET', url, key });
          assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${url.slice(0, 60)} → ${response.statusCode}`);
        }
      }
    });
  });
}
