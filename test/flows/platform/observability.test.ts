import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`health, readiness and metrics [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(engine, { metrics: { token: 'm'.repeat(40) } });
    });
    after(() => t.close());

    // First, before anything calls /readyz: the load balancer of the high-availability setup
    // checks /healthz, and the "not ready" alert must still see the storage's state.
    it('pings the storage at each scrape, so tresor_storage_up needs no /readyz caller', async () => {
      const metrics = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${'m'.repeat(40)}` } });
      assert.equal(metrics.statusCode, 200);
      assert.match(metrics.body, /^tresor_storage_up 1$/m);
      const ping = /^tresor_storage_ping_seconds (\S+)$/m.exec(metrics.body);
      assert.ok(ping !== null && Number(ping[1]) > 0, 'the scrape timed a ping');
    });

    it('reports alive and ready with the storage engine', async () => {
      assert.equal((await t.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      const ready = await t.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.equal(json(ready)['storage'], engine);
    });

    it('exposes Prometheus metrics by route pattern, behind the metrics token', async () => {
      const key = await t.tenant('clinic');
      await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
      await t.inject({ method: 'GET', url: '/readyz' });
      assert.equal((await t.inject({ method: 'GET', url: '/metrics' })).statusCode, 403);
      const metrics = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${'m'.repeat(40)}` } });
      assert.equal(metrics.statusCode, 200);
      assert.match(metrics.body, /tresor_http_requests_total\{method="POST",route="\/tenants\/:tenant\/fhir\/:type",status="201"\} 1/);
      assert.match(metrics.body, /tresor_http_request_duration_seconds_bucket/);
      assert.match(metrics.body, /tresor_storage_up 1/);
      assert.doesNotMatch(metrics.body, /clinic|Müller/);
    });

    it('sets security headers on every response', async () => {
      const response = await t.inject({ method: 'GET', url: '/healthz' });
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });
  });
}
