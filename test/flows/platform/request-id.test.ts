import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, patient } from '../../support/harness.js';
import { engines, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import type { ClientInput } from '../../../src/oauth/index.js';

const chosen = 'client-chosen-request-id-0001';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const engine of engines()) {
  describe(`request ids are the server's [${engine}]`, () => {
    let t: OAuthTestApp;
    let key: string;
    let patientId: string;
    before(async () => {
      t = await startOAuthApp(engine);
      key = await t.tenant('clinic');
      patientId = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() }))['id'];
    });
    after(() => t.close());

    it('gives every request its own id, whatever X-Request-Id the client sent, and audits that id', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i += 1) {
        const response = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${patientId}`, key, headers: { 'x-request-id': chosen } });
        assert.equal(response.statusCode, 200);
        ids.push(String(response.headers['x-request-id']));
      }
      assert.ok(ids.every((id) => uuid.test(id)));
      assert.notEqual(ids[0], ids[1]);
      const reads = (await t.app.audit.query('clinic', { count: 50, actions: ['record.read'] })).map((e) => e.requestId);
      assert.deepEqual(reads.slice(0, 2).sort(), [...ids].sort());
      assert.ok(!reads.includes(chosen));
    });

    it('records the client’s value in the access log only, and only when it is a plain token', async () => {
      await t.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': chosen } });
      await t.inject({ method: 'GET', url: '/readyz', headers: { 'x-request-id': `evil\u0000${'x'.repeat(300)}` } });
      const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
      const health = lines.find((l) => l['path'] === '/healthz');
      assert.equal(health?.['clientRequestId'], chosen);
      assert.notEqual(health?.['reqId'], chosen);
      assert.equal(lines.find((l) => l['path'] === '/readyz')?.['clientRequestId'], undefined);
    });

    it('audits the token endpoint with the server’s id', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { kind: 'backend', redirectUris: [], scope: 'system/Patient.rs', role: 'service-reader' } as Partial<ClientInput> & Pick<ClientInput, 'scope'>);
      const response = await fetch(`${t.issuer('clinic')}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${String(clientSecret)}`).toString('base64')}`, 'x-request-id': chosen },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs' }),
      });
      assert.equal(response.status, 200);
      const issued = (await t.app.audit.query('clinic', { count: 20, actions: ['token.issued'] }))[0];
      assert.equal(issued?.requestId, response.headers.get('x-request-id'));
      assert.match(String(issued?.requestId), uuid);
    });
  });
}
