import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn } from '../../support/people.js';

/**
 * A valid credential of tenant A used at tenant B is refused there and recorded as
 * `access.denied` in A's trail — the credential's home, where A's reviewers and detection look —
 * with the target path (never its query, which may carry search values). B's trail has no event:
 * B never learned who called. A credential that is valid nowhere leaves no event anywhere.
 */
for (const engine of engines()) {
  describe(`cross-tenant attempts are audited at the credential's home [${engine}]`, () => {
    let t: TestApp;
    let keyA: string;

    const denials = (tenant: string) => t.app.audit.query(tenant, { count: 100, actions: ['access.denied'] });

    before(async () => {
      t = await startTestApp(engine);
      keyA = await t.tenant('tenant-a');
      await t.tenant('tenant-b');
      await t.app.tenants.setMfaPolicy('tenant-a', 'optional');
    });
    after(() => t.close());

    it('an API key of A at B: 403, and an access.denied event in A with the path', async () => {
      const keyId = /^tresor_sk_([0-9a-f]{16})_/.exec(keyA)?.[1] as string;
      const targets = ['/tenants/tenant-b/fhir/Patient?name=M%C3%BCller', '/tenants/tenant-b/audit?limit=1', '/tenants/tenant-b/accounts'];
      for (const url of targets) {
        const response = await t.inject({ method: 'GET', url, key: keyA });
        assert.equal(response.statusCode, 403, url);
        assert.equal(errorCode(response), 'forbidden');
      }
      const events = (await denials('tenant-a')).filter((e) => e.actor.id === keyId);
      assert.equal(events.length, targets.length, JSON.stringify(events));
      for (const url of targets) {
        const path = url.split('?')[0] as string;
        const event = events.find((e) => e.detail.endsWith(` ${path}`));
        assert.ok(event, `no event for ${path}: ${JSON.stringify(events.map((e) => e.detail))}`);
        assert.equal(event.outcome, 'failure');
        assert.equal(event.status, 403);
        assert.match(event.detail, /^other-tenant tenant-b GET /);
      }
      assert.ok(events.every((e) => !e.detail.includes('Müller') && !e.detail.includes('name=')), 'the query is not recorded');
      assert.equal((await denials('tenant-b')).length, 0, 'nothing in the target tenant’s trail');
    });

    it('a session of A at B: 401, and an access.denied event in A for that person', async () => {
      const anna = await signIn(t, 'tenant-a', 'front-desk', 'anna@a.example');
      const response = await as(t, anna, { method: 'GET', url: '/tenants/tenant-b/fhir/Patient' });
      assert.equal(response.statusCode, 401, 'a session is nothing at another tenant');
      const events = (await denials('tenant-a')).filter((e) => e.actor.id === `account:${anna.accountId}`);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0]?.detail, 'other-tenant tenant-b GET /tenants/tenant-b/fhir/Patient');
      assert.equal((await as(t, anna, { method: 'GET', url: '/tenants/tenant-a/fhir/Patient' })).statusCode, 200, 'the session still works at home');
    });

    it('credentials valid nowhere leave no event', async () => {
      const before = (await denials('tenant-a')).length;
      const forged = keyA.slice(0, -4) + 'AAAA';
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/tenant-b/fhir/Patient', key: forged })).statusCode, 401);
      const cookie = `__Host-tresor_session=tenant-a.${'x'.repeat(43)}`;
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/tenant-b/fhir/Patient', headers: { cookie } })).statusCode, 401);
      assert.equal((await denials('tenant-a')).length, before);
    });
  });
}
