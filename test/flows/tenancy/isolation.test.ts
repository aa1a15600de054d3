import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * SPEC D1 / I5: no API path lets one tenant reach another tenant's data. Every FHIR route is
 * called with tenant A's key against tenant B's data, and with B's key against A's path.
 */
for (const engine of engines()) {
  describe(`tenant isolation on every endpoint [${engine}]`, () => {
    let t: TestApp;
    let keyA: string;
    let keyB: string;
    let patientB: string;
    let observationB: string;

    before(async () => {
      t = await startTestApp(engine);
      keyA = await t.tenant('tenant-a');
      keyB = await t.tenant('tenant-b');
      patientB = json(await t.inject({ method: 'POST', url: '/tenants/tenant-b/fhir/Patient', key: keyB, body: patient() }))['id'];
      observationB = json(await t.inject({ method: 'POST', url: '/tenants/tenant-b/fhir/Observation', key: keyB, body: observation(patientB) }))['id'];
    });
    after(() => t.close());

    const routes = (tenant: string) => [
      { method: 'GET', url: `/tenants/${tenant}/fhir/Patient` },
      { method: 'POST', url: `/tenants/${tenant}/fhir/Patient/_search`, body: 'name=anna', type: 'application/x-www-form-urlencoded' },
      { method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, body: JSON.stringify(patient()) },
      { method: 'GET', url: `/tenants/${tenant}/fhir/Patient/PID` },
      { method: 'PUT', url: `/tenants/${tenant}/fhir/Patient/PID`, body: 'PATIENT_WITH_ID' },
      { method: 'DELETE', url: `/tenants/${tenant}/fhir/Observation/OID` },
      { method: 'GET', url: `/tenants/${tenant}/fhir/Patient/PID/_history` },
      { method: 'GET', url: `/tenants/${tenant}/fhir/Patient/PID/_history/1` },
      { method: 'POST', url: `/tenants/${tenant}/fhir`, body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/PID' } }] }) },
    ];

    it('refuses a key of tenant A on every route of tenant B, and changes nothing there', async () => {
      for (const route of routes('tenant-b')) {
        const body = route.body?.replace('PATIENT_WITH_ID', JSON.stringify({ ...patient(), id: patientB })).replace(/PID/g, patientB);
        const response = await t.inject({
          method: route.method,
          url: route.url.replace('PID', patientB).replace('OID', observationB),
          key: keyA,
          ...(body === undefined ? {} : { body, headers: { 'content-type': route.type ?? 'application/fhir+json' } }),
        });
        assert.equal(response.statusCode, 403, `${route.method} ${route.url}`);
        assert.equal(errorCode(response), 'forbidden');
        assert.doesNotMatch(response.body, /Müller|A123456789/);
      }
      const stillThere = await t.inject({ method: 'GET', url: `/tenants/tenant-b/fhir/Observation/${observationB}`, key: keyB });
      assert.equal(stillThere.statusCode, 200);
      const history = json(await t.inject({ method: 'GET', url: `/tenants/tenant-b/fhir/Patient/${patientB}/_history`, key: keyB }));
      assert.equal(history['total'], 1, 'no write from tenant A landed');
    });

    it('keeps data sets apart: tenant A sees none of B\'s records through its own routes', async () => {
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/tenant-a/fhir/Patient/${patientB}`, key: keyA })).statusCode, 404);
      assert.equal(json(await t.inject({ method: 'GET', url: '/tenants/tenant-a/fhir/Patient', key: keyA }))['total'], 0);
      const reference = await t.inject({ method: 'POST', url: '/tenants/tenant-a/fhir/Observation', key: keyA, body: observation(patientB) });
      assert.equal(reference.statusCode, 422, 'a reference cannot point into another tenant');
      const batch = json(await t.inject({ method: 'POST', url: '/tenants/tenant-a/fhir', key: keyA, body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${patientB}` } }] } }));
      assert.equal(batch['entry'][0].response.status, '404');
      assert.equal(t.app.storage.describeTenant('tenant-a') === t.app.storage.describeTenant('tenant-b'), false);
    });

    it('stops all requests to a disabled tenant, and rejects revoked, malformed and missing keys', async () => {
      const keyC = await t.tenant('tenant-c');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/tenant-c/fhir/Patient', key: keyC })).statusCode, 200);
      await t.app.tenants.disable('tenant-c');
      const disabled = await t.inject({ method: 'GET', url: '/tenants/tenant-c/fhir/Patient', key: keyC });
      assert.equal(disabled.statusCode, 403);
      assert.equal(errorCode(disabled), 'tenant-disabled');

      const extra = await t.app.apiKeys.create({ tenantId: 'tenant-a', role: 'service-reader' });
      await t.app.apiKeys.revoke(extra.info.id);
      for (const bad of [extra.key, 'tresor_sk_0000000000000000_' + 'A'.repeat(43), 'not-a-key', `${keyA}x`]) {
        const response = await t.inject({ method: 'GET', url: '/tenants/tenant-a/fhir/Patient', key: bad });
        assert.equal(response.statusCode, 401, bad.slice(0, 12));
        assert.match(String(response.headers['www-authenticate']), /^Bearer realm="tresor"/);
      }
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/tenant-a/fhir/Patient' })).statusCode, 401);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/Tenant_A/fhir/Patient', key: keyA })).statusCode, 400);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/..%2F..%2Fetc/fhir/Patient', key: keyA })).statusCode, 400);
    });
  });
}
