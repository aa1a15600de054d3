import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * Never log record contents, keys, tokens or passwords. Marker values go everywhere a
 * request can carry them — bodies, search values, ids, headers, invalid JSON, failed
 * references — and must appear in no log line.
 */
for (const engine of engines()) {
  describe(`logs carry no record contents or credentials [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const marker = 'ZZMARKER7731';
    const base = '/tenants/clinic/fhir';

    before(async () => {
      t = await startTestApp(engine, { log: { level: 'trace' } });
      key = await t.tenant('clinic');
    });
    after(() => t.close());

    it('keeps marker values out of every log line', async () => {
      const created = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ name: [{ family: `${marker}family` }], identifier: [{ value: `${marker}mrn` }] }) });
      assert.equal(created.statusCode, 201);
      const id = json(created)['id'];
      await t.inject({ method: 'GET', url: `${base}/Patient?name=${marker}family&identifier=${marker}mrn`, key });
      await t.inject({ method: 'POST', url: `${base}/Patient/_search`, key, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `name=${marker}form` });
      await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: `{"resourceType":"Patient","name":[{"family":"${marker}broken"` });
      await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ gender: `${marker}gender` }) });
      await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: observation(`${marker}ref`) });
      await t.inject({ method: 'PUT', url: `${base}/Patient/${id}`, key, body: { ...patient({ name: [{ family: `${marker}update` }] }), id } });
      await t.inject({ method: 'GET', url: `${base}/Patient`, key: `${marker}badkey` });
      await t.inject({ method: 'GET', url: `${base}/Patient`, headers: { authorization: `Bearer tresor_sk_0123456789abcdef_${marker}${'A'.repeat(43 - marker.length)}`, cookie: `session=${marker}cookie` } });
      await t.inject({ method: 'POST', url: base, key, body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient({ name: [{ family: `${marker}tx` }] }), request: { method: 'POST', url: 'Patient' } }, { resource: observation(`${marker}missing`), request: { method: 'POST', url: 'Observation' } }] } });

      assert.ok(t.logs.length >= 10, 'requests were logged');
      const leaks = t.logs.filter((line) => line.includes(marker) || line.includes(key) || line.includes(key.slice(-43)));
      assert.deepEqual(leaks, []);
      assert.ok(t.logs.some((line) => line.includes('"route":"/tenants/:tenant/fhir/:type"')), 'access lines name the route pattern');
    });
  });
}
