import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`FHIR CRUD and history [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('creates, reads, updates with If-Match, deletes softly and keeps history', async () => {
      const created = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ id: 'client-chosen' }) });
      assert.equal(created.statusCode, 201);
      const body = json(created);
      assert.notEqual(body['id'], 'client-chosen', 'a create ignores the client id');
      assert.equal(body['meta'].versionId, '1');
      assert.equal(created.headers['etag'], 'W/"1"');
      assert.match(String(created.headers['location']), new RegExp(`/Patient/${body['id']}/_history/1$`));
      assert.match(String(created.headers['content-type']), /^application\/fhir\+json/);
      const id = body['id'] as string;

      const read = await t.inject({ method: 'GET', url: `${base}/Patient/${id}`, key });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(json(read)['name'], patient()['name']);

      const stale = await t.inject({ method: 'PUT', url: `${base}/Patient/${id}`, key, body: { ...patient(), id, gender: 'other' }, headers: { 'if-match': 'W/"7"' } });
      assert.equal(stale.statusCode, 412);
      assert.equal(errorCode(stale), 'version-conflict');

      const updated = await t.inject({ method: 'PUT', url: `${base}/Patient/${id}`, key, body: { ...patient(), id, gender: 'other' }, headers: { 'if-match': 'W/"1"' } });
      assert.equal(updated.statusCode, 200);
      assert.equal(json(updated)['meta'].versionId, '2');

      const v1 = await t.inject({ method: 'GET', url: `${base}/Patient/${id}/_history/1`, key });
      assert.equal(json(v1)['gender'], 'female');
      const v2 = await t.inject({ method: 'GET', url: `${base}/Patient/${id}/_history/2`, key });
      assert.equal(json(v2)['gender'], 'other');

      const mismatch = await t.inject({ method: 'PUT', url: `${base}/Patient/${id}`, key, body: { ...patient(), id: 'other-id' } });
      assert.equal(mismatch.statusCode, 400);
      assert.equal(errorCode(mismatch), 'id-mismatch');

      const deleted = await t.inject({ method: 'DELETE', url: `${base}/Patient/${id}`, key });
      assert.equal(deleted.statusCode, 204);
      const gone = await t.inject({ method: 'GET', url: `${base}/Patient/${id}`, key });
      assert.equal(gone.statusCode, 410);
      assert.equal(errorCode(gone), 'gone');
      const again = await t.inject({ method: 'DELETE', url: `${base}/Patient/${id}`, key });
      assert.equal(again.statusCode, 204, 'deleting twice is idempotent');

      const history = json(await t.inject({ method: 'GET', url: `${base}/Patient/${id}/_history`, key }));
      assert.equal(history['type'], 'history');
      assert.equal(history['total'], 3);
      assert.deepEqual(
        history['entry'].map((e: any) => e.request.method),
        ['DELETE', 'PUT', 'POST'],
      );
      const deletedVersion = await t.inject({ method: 'GET', url: `${base}/Patient/${id}/_history/3`, key });
      assert.equal(deletedVersion.statusCode, 410);
    });

    it('answers 404 for unknown ids and versions, and update-as-create with a client id', async () => {
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Patient/does-not-exist`, key })).statusCode, 404);
      assert.equal((await t.inject({ method: 'DELETE', url: `${base}/Patient/does-not-exist`, key })).statusCode, 404);
      const put = await t.inject({ method: 'PUT', url: `${base}/Practitioner/dr-who`, key, body: { resourceType: 'Practitioner', id: 'dr-who', name: [{ family: 'Who' }] } });
      assert.equal(put.statusCode, 201);
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Practitioner/dr-who/_history/9`, key })).statusCode, 404);
    });

    it('enforces references: a subject must exist in this tenant, and a referenced patient cannot be deleted', async () => {
      // The reference check travels with the writes (PostgreSQL: one round trip); a refusal must
      // leave none of them behind.
      const db = await t.app.storage.tenant('clinic');
      const tables = ['resources', 'resource_versions', 'search_index', 'resource_links'];
      const counts = () => Promise.all(tables.map(async (table) => Number((await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table(table)} WHERE resource_type = ?`, ['Observation']))[0]?.n)));
      const before = await counts();
      const missing = await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: observation('nobody') });
      assert.equal(missing.statusCode, 422);
      assert.equal(errorCode(missing), 'reference-invalid');
      assert.deepEqual(json(missing)['issue'][0].expression, ['Observation.subject.reference']);
      assert.deepEqual(await counts(), before);

      const p = json(await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient() }))['id'] as string;
      const o = await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: observation(p) });
      assert.equal(o.statusCode, 201);
      const blocked = await t.inject({ method: 'DELETE', url: `${base}/Patient/${p}`, key });
      assert.equal(blocked.statusCode, 409);
      assert.equal(errorCode(blocked), 'referenced');
      assert.equal((await t.inject({ method: 'DELETE', url: `${base}/Observation/${json(o)['id']}`, key })).statusCode, 204);
      assert.equal((await t.inject({ method: 'DELETE', url: `${base}/Patient/${p}`, key })).statusCode, 204);
    });

    it('lets a reader read but not write or delete', async () => {
      const reader = await t.key('clinic', 'service-reader');
      const p = json(await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient() }))['id'];
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Patient/${p}`, key: reader })).statusCode, 200);
      const write = await t.inject({ method: 'POST', url: `${base}/Patient`, key: reader, body: patient() });
      assert.equal(write.statusCode, 403);
      assert.equal(errorCode(write), 'forbidden');
      assert.equal((await t.inject({ method: 'DELETE', url: `${base}/Patient/${p}`, key: reader })).statusCode, 403);
    });

    it('serves a CapabilityStatement that lists what is supported', async () => {
      const response = await t.inject({ method: 'GET', url: `${base}/metadata` });
      assert.equal(response.statusCode, 200);
      const cs = json(response);
      assert.equal(cs['fhirVersion'], '4.0.1');
      const observationRes = cs['rest'][0].resource.find((r: any) => r.type === 'Observation');
      assert.deepEqual(observationRes.searchParam.map((p: any) => p.name).sort(), ['_id', '_lastUpdated', 'category', 'code', 'date', 'patient', 'status', 'subject']);
      assert.deepEqual(cs['rest'][0].resource.map((r: any) => r.type), ['Patient', 'Practitioner', 'Observation', 'Appointment', 'Consent', 'Invoice']);
    });
  });
}
