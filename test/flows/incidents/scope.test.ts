import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope } from '../../../src/breach/index.js';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, type Person } from '../../support/people.js';

const day = 86_400_000;
const start = Date.parse('2026-03-02T08:00:00Z');

/**
 * A breach scope frozen into an incident: a key of each of two tenants reads patients; the
 * operator freezes the scope into an incident that named one tenant; the stored scope has the
 * hash of computing it directly; it verifies intact and matching the trail; a number changed in
 * the database no longer verifies; each tenant admin sees only their tenant's part; the timeline
 * and the audit events carry counts and the hash, never patient ids.
 */
for (const engine of engines()) {
  describe(`breach scope frozen into an incident [${engine}]`, () => {
    let t: TestApp;
    let now = start - day;
    const clock = { now: () => new Date((now += 1)) };
    let operator: Person;
    let northAdmin: Person;
    let southAdmin: Person;
    let westAdmin: Person;
    let northAuditor: string;
    const keys: Record<string, string> = {};
    const read: Record<string, string[]> = { north: [], south: [] };
    let incidentId = '';
    let body: Record<string, unknown> = {};
    const call = (who: Person, method: string, url: string, payload?: unknown) => as(t, who, { method, url, ...(payload === undefined ? {} : { body: payload, headers: { 'content-type': 'application/json' } }) });

    before(async () => {
      t = await startTestApp(engine, { identity: { sessionIdleMinutes: 24 * 60 } }, { clock });
      for (const [tenant, count] of [['north', 12], ['south', 8], ['west', 3]] as const) {
        const writer = await t.tenant(tenant);
        const reader = await t.app.apiKeys.create({ tenantId: tenant, role: 'service-reader' });
        keys[tenant] = reader.info.id;
        for (let i = 0; i < count; i++) {
          const created = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key: writer, body: patient() });
          assert.equal(created.statusCode, 201, created.body);
          const id = String(json(created)['id']);
          if (tenant === 'west') continue;
          now = start + i * 1000;
          const got = await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key: reader.key });
          assert.equal(got.statusCode, 200);
          read[tenant]?.push(`Patient/${id}`);
        }
      }
      now = start + 2 * day;
      operator = await signInOperator(t, 'operator', 'ops@hosting.example', () => now);
      northAdmin = await signInWithTotp(t, 'north', 'tenant-admin', 'admin@north.example', () => now);
      southAdmin = await signInWithTotp(t, 'south', 'tenant-admin', 'admin@south.example', () => now);
      westAdmin = await signInWithTotp(t, 'west', 'tenant-admin', 'admin@west.example', () => now);
      northAuditor = await t.key('north', 'auditor');
      const opened = await call(operator, 'POST', '/platform/incidents', { title: 'Integration keys leaked', severity: 'high', tenants: ['north'] });
      assert.equal(opened.statusCode, 201, opened.body);
      incidentId = String(json(opened)['id']);
      body = { from: new Date(start - 1000).toISOString(), to: new Date(start + day).toISOString(), suspect: { kind: 'api-key', values: [keys['north'], keys['south']] }, tenants: 'all' };
    });
    after(async () => {
      await t.close();
    });

    it('freezes the scope with the hash of computing it directly; the incident grows by the touched tenant', { timeout: 120_000 }, async () => {
      const direct = await call(operator, 'POST', '/platform/breach-scope', body);
      assert.equal(direct.statusCode, 200, direct.body);
      const frozen = await call(operator, 'POST', `/platform/incidents/${incidentId}/scopes`, body);
      assert.equal(frozen.statusCode, 201, frozen.body);
      assert.equal(frozen.headers['cache-control'], 'no-store');
      const result = json(frozen);
      assert.equal(result.hash, json<Scope>(direct).hash, 'the same inputs give the same hash');
      assert.deepEqual(result.tenants.map((x: { tenantId: string; patients: number }) => [x.tenantId, x.patients]), [['north', 12], ['south', 8], ['west', 0]]);

      const list = json(await call(operator, 'GET', `/platform/incidents/${incidentId}/scopes`));
      assert.deepEqual(list.scopes.map((s: { id: string; hash: string; totals: Scope['totals'] }) => [s.id, s.hash, s.totals.patients]), [[result.id, result.hash, 20]]);
      const whole = await call(operator, 'GET', `/platform/incidents/${incidentId}/scopes/${result.id}`);
      assert.equal(whole.statusCode, 200);
      assert.equal(whole.headers['cache-control'], 'no-store');
      const scope = json<Scope>(whole);
      assert.equal(scope.hash, result.hash);
      assert.deepEqual(scope.tenants[0]?.patients.list.map((p) => p.patient), [...(read['north'] ?? [])].sort());

      const incident = json(await call(operator, 'GET', `/platform/incidents/${incidentId}`));
      assert.deepEqual(incident.tenants, ['north', 'south'], 'south had disclosures; west none');
      const entries = incident.timeline.filter((e: { kind: string }) => e.kind === 'scope');
      assert.equal(entries.length, 3, 'one for the operators, one per touched tenant');
      assert.match(entries[0].text, new RegExp(`${result.hash.slice(0, 12)}.*north: 12 patients.*south: 8 patients.*\\+south`));
      const everything = JSON.stringify(incident.timeline);
      for (const id of [...(read['north'] ?? []), ...(read['south'] ?? [])]) assert.ok(!everything.includes(id.split('/')[1] as string), 'no patient id in the timeline');

      for (const [realm, expected] of [['operators', /patients=20 /], ['north', /patients=12 /], ['south', /patients=8 /]] as const) {
        await t.app.audit.settle(realm);
        const [event] = await t.app.audit.query(realm, { actions: ['incident.scope_frozen'], count: 1 });
        assert.ok(event, realm);
        assert.match(event.detail, expected);
        assert.match(event.detail, new RegExp(`hash=${result.hash}`));
        assert.deepEqual(event.subjects, []);
        for (const id of [...(read['north'] ?? []), ...(read['south'] ?? [])]) assert.ok(!event.detail.includes(id.split('/')[1] as string));
      }
      assert.equal((await t.app.audit.query('west', { actions: ['incident.scope_frozen'], count: 1 })).length, 0, 'an untouched tenant is not told');
      const reads = await t.app.audit.query('operators', { actions: ['audit.read'], count: 5 });
      assert.ok(reads.some((e) => e.detail === `incident scope ${result.id}`), 'reading the whole scope is recorded');
    });

    it('verifies intact and matching the trail; a number changed in the database does not', { timeout: 120_000 }, async () => {
      const [first] = json(await call(operator, 'GET', `/platform/incidents/${incidentId}/scopes`)).scopes;
      const check = await call(operator, 'POST', `/platform/incidents/${incidentId}/scopes/${first.id}/verify`);
      assert.equal(check.statusCode, 200, check.body);
      assert.deepEqual(json(check), { intact: true, matchesTrail: true, recomputedHash: first.hash, differences: [] });

      const db = t.app.storage.platform;
      const changed = await db.execute(`UPDATE ${db.table('incident_scopes')} SET scope = REPLACE(scope, '"patients":{"count":12,', '"patients":{"count":11,') WHERE id = ?`, [first.id]);
      assert.equal(changed, 1);
      const tampered = json(await call(operator, 'POST', `/platform/incidents/${incidentId}/scopes/${first.id}/verify`));
      assert.equal(tampered.intact, false);
      assert.equal(tampered.matchesTrail, true, 'the trail still gives the hash that was frozen');
      assert.deepEqual(tampered.differences, ['north: patients']);
      const [event] = await t.app.audit.query('operators', { actions: ['incident.scope_verified'], count: 1 });
      assert.equal(event?.outcome, 'failure');
      assert.match(event?.detail ?? '', /intact=false/);

      // Inputs edited into something that is no scope at all: a finding, not a 400.
      await db.execute(`UPDATE ${db.table('incident_scopes')} SET scope = REPLACE(scope, '"kind":"api-key"', '"kind":"bogus"') WHERE id = ?`, [first.id]);
      const broken = await call(operator, 'POST', `/platform/incidents/${incidentId}/scopes/${first.id}/verify`);
      assert.equal(broken.statusCode, 200, broken.body);
      assert.deepEqual([json(broken).intact, json(broken).matchesTrail], [false, false]);
      await db.execute(`UPDATE ${db.table('incident_scopes')} SET scope = REPLACE(scope, '"kind":"bogus"', '"kind":"api-key"') WHERE id = ?`, [first.id]);
    });

    it("shows each tenant admin only their tenant's part; refuses others", async () => {
      const north = await call(northAdmin, 'GET', `/tenants/north/incidents/${incidentId}/scopes`);
      assert.equal(north.statusCode, 200, north.body);
      assert.equal(north.headers['cache-control'], 'no-store');
      const [part] = json(north).scopes;
      assert.equal(part.tenant.tenantId, 'north');
      assert.equal(part.suspect, 'api-key (2)');
      assert.deepEqual(part.totals, { tenants: 1, patients: part.tenant.patients.count, records: part.tenant.records.count, attempts: 0, inClear: true });
      const text = north.body;
      for (const other of ['south', 'west', String(keys['south']), ...(read['south'] ?? []).map((p) => p.split('/')[1] as string)]) assert.ok(!text.includes(other), `north sees nothing of ${other}`);
      const south = json(await call(southAdmin, 'GET', `/tenants/south/incidents/${incidentId}/scopes`));
      assert.deepEqual(south.scopes.map((s: { tenant: { tenantId: string; patients: { count: number } } }) => [s.tenant.tenantId, s.tenant.patients.count]), [['south', 8]]);

      // West is not affected: the incident is not theirs to know (404).
      const west = await call(westAdmin, 'GET', `/tenants/west/incidents/${incidentId}/scopes`);
      assert.equal(west.statusCode, 404);
      assert.equal(errorCode(west), 'incident-not-found');
      // An auditor reads incidents, not patient lists.
      const auditor = await t.inject({ method: 'GET', url: `/tenants/north/incidents/${incidentId}/scopes`, key: northAuditor });
      assert.equal(auditor.statusCode, 403);
      assert.equal(errorCode(auditor), 'forbidden');
      // A tenant admin cannot reach the operators' routes.
      for (const [method, url] of [['GET', `/platform/incidents/${incidentId}/scopes`], ['POST', `/platform/incidents/${incidentId}/scopes`]] as const) {
        const refused = await call(northAdmin, method, url, method === 'POST' ? body : undefined);
        assert.ok([401, 403].includes(refused.statusCode), `${method} ${url}: ${refused.statusCode}`);
      }
      const unknown = await call(operator, 'GET', `/platform/incidents/${incidentId}/scopes/00000000-0000-4000-8000-000000000000`);
      assert.equal(errorCode(unknown), 'incident-scope-not-found');
      const bad = await call(operator, 'POST', `/platform/incidents/${incidentId}/scopes`, { ...body, suspect: { kind: 'session', values: ['x'] } });
      assert.equal(bad.statusCode, 400);
      assert.equal(errorCode(bad), 'scope-invalid');
    });
  });
}
