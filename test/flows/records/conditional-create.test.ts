import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** Conditional create (R4 §3.1.0.8.1, http.html#ccreate): If-None-Exist, and request.ifNoneExist in Bundles. */
for (const engine of engines()) {
  describe(`conditional create [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const withMrn = (mrn: string) => patient({ identifier: [{ system: 'urn:mrn', value: mrn }] });
    const create = (body: unknown, ifNoneExist?: string) => t.inject({ method: 'POST', url: `${base}/Patient`, key, body, headers: ifNoneExist === undefined ? {} : { 'if-none-exist': ifNoneExist } });
    const count = async (mrn: string) => json(await t.inject({ method: 'GET', url: `${base}/Patient?identifier=urn:mrn|${mrn}`, key }))['total'] as number;

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('creates when nothing matches, and returns the match with 200 the second time', async () => {
      const first = await create(withMrn('c-1'), 'identifier=urn:mrn|c-1');
      assert.equal(first.statusCode, 201, first.body);
      const second = await create(withMrn('c-1'), 'identifier=urn:mrn|c-1');
      assert.equal(second.statusCode, 200, second.body);
      assert.equal(json(second)['id'], json(first)['id']);
      assert.equal(second.headers['etag'], 'W/"1"');
      assert.match(String(second.headers['location']), new RegExp(`/Patient/${json(first)['id'] as string}/_history/1$`));
      assert.equal(await count('c-1'), 1);
    });

    it('answers 412 when several match, creating nothing', async () => {
      for (let i = 0; i < 2; i += 1) assert.equal((await create(withMrn('c-2'))).statusCode, 201);
      const response = await create(withMrn('c-2'), 'identifier=urn:mrn|c-2');
      assert.equal(response.statusCode, 412, response.body);
      assert.equal(errorCode(response), 'multiple-matches');
      assert.equal(await count('c-2'), 2);
    });

    it('refuses criteria that are not a search, with a 400', async () => {
      for (const criteria of ['', 'unknown=1', '_count=1&identifier=urn:mrn|c-3', '_cursor=u1.a&identifier=urn:mrn|c-3']) {
        const response = await create(withMrn('c-3'), criteria);
        assert.equal(response.statusCode, 400, `${criteria}: ${response.body}`);
      }
      assert.equal(await count('c-3'), 0);
    });

    it('concurrent identical conditional creates create one resource', async () => {
      const responses = await Promise.all(Array.from({ length: 6 }, () => create(withMrn('c-4'), 'identifier=urn:mrn|c-4')));
      assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 200, 201], responses.map((r) => r.body).join('\n'));
      assert.equal(new Set(responses.map((r) => json(r)['id'])).size, 1);
      assert.equal(await count('c-4'), 1);
    });

    it('honours request.ifNoneExist in transaction and batch entries, and references resolve to the match', async () => {
      const existing = json(await create(withMrn('c-5')))['id'] as string;
      const transaction = await t.inject({
        method: 'POST',
        url: base,
        key,
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { fullUrl: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000001', resource: withMrn('c-5'), request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:mrn|c-5' } },
            { fullUrl: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000002', resource: withMrn('c-6'), request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:mrn|c-6' } },
            {
              resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:0b0b0b0b-0000-4000-8000-000000000001' } },
              request: { method: 'POST', url: 'Observation' },
            },
          ],
        },
      });
      assert.equal(transaction.statusCode, 200, transaction.body);
      const entries = json(transaction)['entry'];
      assert.equal(entries[0].response.status, '200 OK');
      assert.equal(entries[0].resource.id, existing);
      assert.equal(entries[1].response.status, '201 Created');
      assert.equal(entries[2].resource.subject.reference, `Patient/${existing}`, 'the fullUrl of a matched entry names the match');
      assert.equal(await count('c-5'), 1);
      assert.equal(await count('c-6'), 1);

      const batch = await t.inject({
        method: 'POST',
        url: base,
        key,
        body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: withMrn('c-6'), request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:mrn|c-6' } }] },
      });
      assert.equal(batch.statusCode, 200, batch.body);
      assert.equal(json(batch)['entry'][0].response.status, '200 OK');
      assert.equal(await count('c-6'), 1);
    });

    it('the CapabilityStatement says conditional create is supported', async () => {
      const metadata = json(await t.inject({ method: 'GET', url: `${base}/metadata` }));
      for (const resource of metadata['rest'][0].resource) assert.equal(resource.conditionalCreate, true, resource.type);
    });
  });
}
