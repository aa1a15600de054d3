import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`batch and transaction Bundles [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const total = async (type: string) => json(await t.inject({ method: 'GET', url: `${base}/${type}?_count=0`, key }))['total'] as number;

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('commits a transaction atomically and resolves urn:uuid references', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:5d7a8d1c-0d6f-4f8b-9a41-3c4f3f0e8a01', resource: patient(), request: { method: 'POST', url: 'Patient' } },
          { resource: observation('placeholder', { subject: { reference: 'urn:uuid:5d7a8d1c-0d6f-4f8b-9a41-3c4f3f0e8a01' } }), request: { method: 'POST', url: 'Observation' } },
          { request: { method: 'GET', url: 'Observation?code=8867-4' } },
        ],
      };
      const response = await t.inject({ method: 'POST', url: base, key, body: bundle });
      assert.equal(response.statusCode, 200);
      const result = json(response);
      assert.equal(result['type'], 'transaction-response');
      assert.equal(result['entry'][0].response.status, '201 Created');
      const patientId = result['entry'][0].resource.id;
      assert.equal(result['entry'][1].resource.subject.reference, `Patient/${patientId}`);
      assert.equal(result['entry'][2].resource.total, 1, 'GET runs after the writes, inside the transaction');
    });

    it('rolls back every entry when one fails', async () => {
      const before = await total('Patient');
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: patient(), request: { method: 'POST', url: 'Patient' } },
          { resource: observation('no-such-patient'), request: { method: 'POST', url: 'Observation' } },
        ],
      };
      const response = await t.inject({ method: 'POST', url: base, key, body: bundle });
      assert.equal(response.statusCode, 422);
      assert.equal(errorCode(response), 'reference-invalid');
      assert.deepEqual(json(response)['issue'][0].expression, ['Bundle.entry[1].resource.subject.reference']);
      assert.equal(await total('Patient'), before, 'nothing of the failed transaction is stored');
    });

    it('rejects an invalid entry before writing anything', async () => {
      const before = await total('Patient');
      const response = await t.inject({
        method: 'POST',
        url: base,
        key,
        body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient(), request: { method: 'POST', url: 'Patient' } }, { resource: { resourceType: 'Patient', gender: 42 }, request: { method: 'POST', url: 'Patient' } }] },
      });
      assert.equal(response.statusCode, 400);
      assert.equal(await total('Patient'), before);
    });

    it('processes batch entries independently', async () => {
      const response = await t.inject({
        method: 'POST',
        url: base,
        key,
        body: {
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { resource: patient(), request: { method: 'POST', url: 'Patient' } },
            { resource: observation('missing'), request: { method: 'POST', url: 'Observation' } },
            { request: { method: 'GET', url: 'Patient/unknown' } },
            { request: { method: 'PATCH', url: 'Patient/x' } },
          ],
        },
      });
      assert.equal(response.statusCode, 200);
      const statuses = json(response)['entry'].map((e: any) => e.response.status);
      assert.deepEqual(statuses, ['201 Created', '422', '404', '400']);
      assert.equal(json(response)['entry'][1].response.outcome.resourceType, 'OperationOutcome');
    });

    it('refuses Bundles of other types and a reader\'s writes', async () => {
      const collection = await t.inject({ method: 'POST', url: base, key, body: { resourceType: 'Bundle', type: 'collection', entry: [] } });
      assert.equal(collection.statusCode, 400);
      assert.equal(errorCode(collection), 'bundle-invalid');
      const reader = await t.key('clinic', 'service-reader');
      const write = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient' } }, { resource: patient(), request: { method: 'POST', url: 'Patient' } }] };
      // Batch entries stand alone: the write entry is refused, the read answered.
      const partly = await t.inject({ method: 'POST', url: base, key: reader, body: write });
      assert.equal(partly.statusCode, 200);
      assert.deepEqual(json(partly)['entry'].map((e: any) => e.response.status), ['200 OK', '403']);
      // A transaction is all or nothing: one entry the role may not do refuses it.
      const denied = await t.inject({ method: 'POST', url: base, key: reader, body: { ...write, type: 'transaction' } });
      assert.equal(denied.statusCode, 403);
      const readOnly = await t.inject({ method: 'POST', url: base, key: reader, body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient' } }] } });
      assert.equal(readOnly.statusCode, 200, 'a reader may batch reads');
    });
  });
}
