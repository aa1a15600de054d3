import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`bad input gets a clear OperationOutcome and stores nothing [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const count = async () => json(await t.inject({ method: 'GET', url: `${base}/Patient?_count=0`, key }))['total'] as number;
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/fhir+json' }) => t.inject({ method: 'POST', url: `${base}/Patient`, key, body, headers });

    before(async () => {
      t = await startTestApp(engine, { server: { bodyLimitBytes: 64 * 1024 } });
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('answers each kind of bad request with its status and code', async () => {
      const cases: Array<[string, Promise<LightMyRequestResponse>, number, string]> = [
        ['malformed JSON', post('{"resourceType":"Patient",'), 400, 'body-invalid'],
        ['empty body', post(''), 400, 'body-invalid'],
        ['JSON array', post('[]'), 400, 'body-invalid'],
        ['wrong content type', post('<Patient/>', { 'content-type': 'application/xml' }), 415, 'media-type-unsupported'],
        ['text/plain', post('{}', { 'content-type': 'text/plain' }), 415, 'media-type-unsupported'],
        ['too large', post(JSON.stringify(patient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(70 * 1024)}</div>` } }))), 413, 'body-too-large'],
        ['wrong resourceType', post(JSON.stringify({ resourceType: 'Observation' })), 400, 'resource-invalid'],
        ['unknown element', post(JSON.stringify(patient({ shoeSize: 42 }))), 400, 'resource-invalid'],
        ['wrong type of value', post(JSON.stringify(patient({ birthDate: 19800203 }))), 400, 'resource-invalid'],
        ['two types for one choice element', post(JSON.stringify(patient({ deceasedBoolean: true, deceasedDateTime: '2020-01-01' }))), 400, 'resource-invalid'],
        ['impossible date', post(JSON.stringify(patient({ birthDate: '1980-02-30x' }))), 400, 'resource-invalid'],
        ['lone surrogate', post('{"resourceType":"Patient","name":[{"family":"\\ud800"}]}'), 400, 'resource-invalid'],
        ['NUL character', post('{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}'), 400, 'resource-invalid'],
        ['proto pollution', post('{"resourceType":"Patient","__proto__":{"admin":true}}'), 400, 'body-invalid'],
        ['unknown resource type', t.inject({ method: 'GET', url: `${base}/Spaceship/1`, key }), 404, 'type-unsupported'],
        ['invalid id', t.inject({ method: 'GET', url: `${base}/Patient/${'x'.repeat(65)}`, key }), 400, 'id-invalid'],
        ['invalid id chars', t.inject({ method: 'GET', url: `${base}/Patient/a%27%3B--`, key }), 400, 'id-invalid'],
        ['unsupported method', t.inject({ method: 'PATCH', url: `${base}/Patient/abc`, key, body: '{}' }), 405, 'method-not-allowed'],
        ['XML requested', t.inject({ method: 'GET', url: `${base}/Patient`, key, headers: { accept: 'application/fhir+xml' } }), 406, 'not-acceptable'],
        ['bad If-Match', t.inject({ method: 'PUT', url: `${base}/Patient/p1`, key, body: { ...patient(), id: 'p1' }, headers: { 'if-match': 'yesterday' } }), 400, 'version-conflict'],
      ];
      for (const [name, pending, status, code] of cases) {
        const response = await pending;
        assert.equal(response.statusCode, status, name);
        assert.match(String(response.headers['content-type']), /^application\/fhir\+json/, name);
        assert.equal(errorCode(response), code, name);
        assert.doesNotMatch(response.body, /at .*\.(ts|js):\d+|SELECT|INSERT|sqlite|postgres/i, `${name}: no stack or SQL leaks`);
      }
      assert.equal(await count(), 0, 'nothing was stored');
    });

    it('names the element at fault in expression', async () => {
      const response = await post(JSON.stringify(patient({ name: [{ family: 'A', given: 'not-a-list' }] })));
      assert.equal(response.statusCode, 400);
      assert.deepEqual(json(response)['issue'][0].expression, ['Patient.name[0].given']);
    });

    it('stores script and SQL meta-characters and odd Unicode verbatim', async () => {
      const family = `<script>alert(1)</script>'; DROP TABLE resources; -- 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍⚕️ \u202Eevil Ǆ`;
      const created = await post(JSON.stringify(patient({ name: [{ family }] })));
      assert.equal(created.statusCode, 201);
      const read = json(await t.inject({ method: 'GET', url: `${base}/Patient/${json(created)['id']}`, key }));
      assert.equal(read['name'][0].family, family);
      assert.equal(await count(), 1);
    });

    it('answers non-FHIR surfaces with problem+json', async () => {
      const response = await t.inject({ method: 'GET', url: '/nowhere' });
      assert.equal(response.statusCode, 404);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(json(response)['code'], 'not-found');
    });
  });
}
