import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** What stock FHIR clients send that a server of R4 must understand. */
for (const engine of engines()) {
  for (const publicUrl of [undefined, 'https://vault.example.org']) {
    describe(`FHIR interoperability [${engine}, ${publicUrl ?? 'no publicUrl'}]`, () => {
      let t: TestApp;
      let key: string;
      let patientId: string;
      const base = '/tenants/clinic/fhir';
      const get = (url: string) => t.inject({ method: 'GET', url: `${base}/${url}`, key });
      const total = async (url: string) => {
        const response = await get(url);
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
        return json(response)['total'] as number;
      };

      before(async () => {
        t = await startTestApp(engine, publicUrl === undefined ? {} : { server: { publicUrl } });
        key = await t.tenant('clinic');
        await t.app.tenants.create('other');
        patientId = json(await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient() }))['id'] as string;
        await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: observation(patientId, { status: 'amended' }) });
        await t.inject({ method: 'POST', url: `${base}/Appointment`, key, body: { resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: `Patient/${patientId}` }, status: 'accepted' }] } });
      });
      after(() => t.close());

      it('token search on a code element takes the bound value set system as implicit system', async () => {
        assert.equal(await total('Patient?gender=female'), 1);
        assert.equal(await total('Patient?gender=http://hl7.org/fhir/administrative-gender|female'), 1);
        assert.equal(await total('Observation?status=http://hl7.org/fhir/observation-status|amended'), 1);
        assert.equal(await total('Appointment?status=http://hl7.org/fhir/appointmentstatus|booked'), 1);
        assert.equal(await total('Observation?status=http://hl7.org/fhir/observation-status|'), 1, 'system| matches every code of it');
        assert.equal(await total('Observation?status=http://example.org/other|amended'), 0, 'another system matches nothing');
      });

      it('reference search takes an absolute URL on this server base, and refuses a foreign one', async () => {
        const self = json(await get(`Patient/${patientId}`));
        const location = (await t.inject({ method: 'GET', url: `${base}/Patient?_id=${patientId}`, key }));
        const fullUrl = json(location)['entry'][0].fullUrl as string;
        assert.equal(fullUrl.endsWith(`/Patient/${self['id'] as string}`), true);
        assert.equal(await total(`Observation?patient=${encodeURIComponent(fullUrl)}`), 1, fullUrl);
        assert.equal(await total(`Observation?subject=${encodeURIComponent(fullUrl)}`), 1);
        for (const foreign of [`https://elsewhere.example/fhir/Patient/${patientId}`, fullUrl.replace('/tenants/clinic/', '/tenants/other/')]) {
          const response = await get(`Observation?patient=${encodeURIComponent(foreign)}`);
          assert.equal(response.statusCode, 400, foreign);
          assert.equal(errorCode(response), 'search-invalid');
        }
      });

      it('type-level and system-level history say they are not supported; instance history still works', async () => {
        for (const url of ['Patient/_history', '_history']) {
          const response = await get(url);
          assert.equal(response.statusCode, 501, `${url}: ${response.body}`);
          assert.equal(errorCode(response), 'history-unsupported');
          assert.equal(json(response)['issue'][0].code, 'not-supported');
        }
        const instance = await get(`Patient/${patientId}/_history`);
        assert.equal(instance.statusCode, 200);
        assert.equal(json(instance)['type'], 'history');
      });
    });
  }
}
