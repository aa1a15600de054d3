import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope } from '../../../src/breach/index.js';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, type Person } from '../../support/people.js';

const day = 86_400_000;
const start = Date.parse('2026-03-02T08:00:00Z');
const attacker = '203.0.113.7';

/**
 * A simulated compromise: the integration keys of two tenants (one key each: API keys belong to
 * one tenant, so the suspect is the pair) read 1,200 patients' records over three days from one
 * address. The scope must name exactly the patients, records, classes and tenants the test's own
 * log of successful answers names.
 */
for (const engine of engines()) {
  describe(`breach scope of a compromised key (${engine})`, () => {
    let t: TestApp;
    let now = start;
    const clock = { now: () => new Date((now += 1)) };
    let operator: Person;
    const suspectKeys: Record<string, { id: string; key: string }> = {};
    // The independent count: what the suspect got back, per tenant.
    const seen: Record<string, { patients: Set<string>; records: Set<string> }> = {};
    const created: Record<string, string[]> = {};
    // Observation id → its patient's id.
    const observed: Record<string, Array<[string, string]>> = {};
    const readPerTenant: Record<string, number> = { north: 700, south: 500 };
    let windowFrom = 0;
    let windowTo = 0;

    const fromAttacker = (tenant: string, method: string, url: string, body?: unknown) =>
      t.app.http.inject({
        method: method as 'GET',
        url: `/tenants/${tenant}/fhir/${url}`,
        remoteAddress: attacker,
        headers: { authorization: `Bearer ${(suspectKeys[tenant] as { key: string }).key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    const note = (tenant: string, resource: { resourceType: string; id: string; subject?: { reference: string } }) => {
      const log = seen[tenant] as { patients: Set<string>; records: Set<string> };
      log.records.add(`${resource.resourceType}/${resource.id}`);
      log.patients.add(resource.resourceType === 'Patient' ? `Patient/${resource.id}` : (resource.subject?.reference as string));
    };
    const scopeOf = async (body: unknown): Promise<Scope> => {
      const response = await as(t, operator, { method: 'POST', url: '/platform/breach-scope', body, headers: { 'content-type': 'application/json' } });
      assert.equal(response.statusCode, 200, response.body);
      return json<Scope>(response);
    };

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      for (const tenant of ['north', 'south', 'west']) {
        const writer = await t.tenant(tenant);
        created[tenant] = [];
        observed[tenant] = [];
        // 50 more patients than are read: the scope must not name them.
        const total = (readPerTenant[tenant] ?? 0) + 50;
        for (let done = 0; done < total; done += 100) {
          const entry = Array.from({ length: Math.min(100, total - done) }, (_, i) => ({ request: { method: 'POST', url: 'Patient' }, resource: patient({ identifier: [{ system: 'urn:test', value: `${tenant}-${done + i}` }] }) }));
          const response = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir`, key: writer, body: { resourceType: 'Bundle', type: 'transaction', entry } });
          assert.equal(response.statusCode, 200, response.body);
          for (const e of json(response)['entry']) created[tenant]?.push(String(e.response.location).split('/')[1] as string);
        }
        // Every tenth patient has a heart rate (health data).
        const withObservations = (created[tenant] as string[]).filter((_, i) => i % 10 === 0);
        const entry = withObservations.map((id) => ({ request: { method: 'POST', url: 'Observation' }, resource: observation(id) }));
        const response = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir`, key: writer, body: { resourceType: 'Bundle', type: 'transaction', entry } });
        assert.equal(response.statusCode, 200, response.body);
        json(response)['entry'].forEach((e: { response: { location: string } }, i: number) => observed[tenant]?.push([e.response.location.split('/')[1] as string, withObservations[i] as string]));
        const reader = await t.app.apiKeys.create({ tenantId: tenant, role: 'service-reader' });
        suspectKeys[tenant] = { id: reader.info.id, key: reader.key };
        seen[tenant] = { patients: new Set(), records: new Set() };
      }
      // Before the window: one read that must not count.
      now = start - 2 * day;
      await fromAttacker('north', 'GET', `Patient/${created['north']?.[0]}`);
      now = start;
      windowFrom = start;
      for (const [tenant, count] of Object.entries(readPerTenant)) {
        const ids = (created[tenant] as string[]).slice(0, count);
        // Day 1: the first half, one by one.
        now = start;
        for (const id of ids.slice(0, Math.floor(count / 2))) {
          const response = await fromAttacker(tenant, 'GET', `Patient/${id}`);
          assert.equal(response.statusCode, 200);
          note(tenant, json(response) as never);
        }
        // Day 2: the heart rates of those patients, by search (one event, many patients).
        now = start + day;
        const wanted = new Set(ids.slice(0, Math.floor(count / 2)));
        const heartRates = (observed[tenant] as Array<[string, string]>).filter(([, of]) => wanted.has(of)).map(([id]) => id);
        for (let i = 0; i < heartRates.length; i += 20) {
          const response = await fromAttacker(tenant, 'GET', `Observation?_id=${heartRates.slice(i, i + 20).join(',')}&_count=50`);
          assert.equal(response.statusCode, 200, response.body);
          for (const e of json(response)['entry'] ?? []) note(tenant, e.resource);
        }
        // Refused: a reader key cannot write (access.denied), an unknown record is not found.
        assert.equal((await fromAttacker(tenant, 'POST', 'Patient', patient())).statusCode, 403);
        assert.equal((await fromAttacker(tenant, 'GET', 'Patient/does-not-exist')).statusCode, 404);
        // Day 3: the second half.
        now = start + 2 * day;
        for (const id of ids.slice(Math.floor(count / 2))) {
          const response = await fromAttacker(tenant, 'GET', `Patient/${id}`);
          assert.equal(response.statusCode, 200);
          note(tenant, json(response) as never);
        }
        windowTo = Math.max(windowTo, now);
      }
      now = start + 4 * day;
      // The security officer signs in once the breach is suspected.
      operator = await signInOperator(t, 'operator', 'ops@example.org', () => now);
    });
    after(() => t.close());

    it('names exactly the patients, records, classes and tenants the suspect got back', { timeout: 300_000 }, async () => {
      const scope = await scopeOf({ from: new Date(windowFrom).toISOString(), to: new Date(start + 3 * day).toISOString(), suspect: { kind: 'api-key', values: [suspectKeys['north']?.id, suspectKeys['south']?.id] }, tenants: 'all' });
      assert.deepEqual(scope.inputs.tenants, ['north', 'south', 'west']);
      assert.equal(scope.totals.tenants, 2, 'west was not touched');
      let patients = 0;
      for (const tenant of ['north', 'south']) {
        const found = scope.tenants.find((x) => x.tenantId === tenant);
        assert.ok(found);
        const log = seen[tenant] as { patients: Set<string>; records: Set<string> };
        assert.deepEqual(found.patients.list.map((p) => p.patient), [...log.patients].sort(), `${tenant}: the same patients`);
        assert.equal(found.patients.count, readPerTenant[tenant]);
        assert.deepEqual(found.records.list, [...log.records].sort(), `${tenant}: the same records`);
        assert.deepEqual(found.classes.inClear, ['health', 'internal', 'personal']);
        assert.deepEqual(found.classes.ciphertextOnly, []);
        // Two refusals: access.denied (403) and the not-found read; neither discloses anything.
        assert.equal(found.attempts.count, 2);
        assert.equal(found.attempts.byAction['access.denied'], 1);
        const first = found.patients.list.find((p) => p.patient === `Patient/${created[tenant]?.[0]}`);
        assert.ok(first);
        assert.equal(first.disclosure, 'in-clear');
        assert.ok(first.first !== null && first.first >= start && first.first < start + day, 'first access on day 1, not the read before the window');
        assert.ok(first.last !== null && first.last >= start + day && first.last < start + 2 * day, 'last access: the day-2 search of its heart rate');
        assert.equal(first.accesses, 2);
        assert.deepEqual(first.classes, ['health', 'internal', 'personal']);
        patients += found.patients.count;
      }
      assert.equal(patients, 1200);
      assert.equal(scope.totals.patients, 1200);
      assert.equal(scope.tenants.find((x) => x.tenantId === 'west')?.patients.count, 0);
      assert.match(scope.hash, /^[0-9a-f]{64}$/);

      // The operators' trail and each tenant's record the computation with counts, never patient ids.
      await t.app.audit.settle('operators');
      const [event] = await t.app.audit.query('operators', { actions: ['breach.scope_computed'], count: 5 });
      assert.ok(event);
      assert.match(event.detail, /patients=1200 records=\d+ attempts=4 hash=[0-9a-f]{64}/);
      assert.deepEqual(event.subjects, []);
      assert.doesNotMatch(event.detail, new RegExp(String(created['north']?.[0])));
      const [tenantEvent] = await t.app.audit.query('north', { actions: ['breach.scope_computed'], count: 5 });
      assert.match(tenantEvent?.detail ?? '', /api-key \(2\) patients=700 /);
      assert.doesNotMatch(tenantEvent?.detail ?? '', new RegExp(String(suspectKeys['south']?.id)), "another tenant's key id stays out of this tenant's trail");
      assert.match(event.detail, new RegExp(String(suspectKeys['south']?.id)), "the operators' trail names the suspect");

      // Derived again: the same hash; a changed number no longer verifies.
      const fresh = await t.app.breachScopes.verify(scope);
      assert.deepEqual(fresh, { ok: true, intact: true, recomputedHash: scope.hash, differences: [] });
      const edited = { ...scope, totals: { ...scope.totals, patients: 1199 } };
      const check = await t.app.breachScopes.verify(edited);
      assert.equal(check.ok, false);
      assert.equal(check.intact, false);
      const north = scope.tenants[0] as Scope['tenants'][number];
      const fewer = { ...scope, tenants: [{ ...north, patients: { ...north.patients, count: 699 } }, ...scope.tenants.slice(1)] };
      const withFewer = { ...fewer, hash: (await import('../../../src/breach/index.js')).scopeHash(fewer) };
      const recheck = await t.app.breachScopes.verify(withFewer);
      assert.equal(recheck.intact, true, 'rehashed after the edit');
      assert.equal(recheck.ok, false, 'but the trail says otherwise');
      assert.deepEqual(recheck.differences, ['north: patients']);
    });

    it('finds the same patients by the source address (exact and CIDR), and none from elsewhere', { timeout: 120_000 }, async () => {
      const body = (values: string[]) => ({ from: windowFrom, to: windowTo, suspect: { kind: 'address', values }, tenants: ['north', 'south'] });
      const byRange = await scopeOf(body(['203.0.113.0/24']));
      assert.equal(byRange.totals.patients, 1200);
      assert.deepEqual(byRange.tenants.map((x) => x.patients.count), [700, 500]);
      assert.equal((await scopeOf(body([attacker]))).totals.patients, 1200);
      assert.equal((await scopeOf(body(['198.51.100.0/24', '2001:db8::/32']))).totals.patients, 0);
    });

    it('keeps to the window: inclusive bounds, nothing outside', { timeout: 120_000 }, async () => {
      const suspect = { kind: 'api-key', values: [suspectKeys['north']?.id] };
      const full = await scopeOf({ from: windowFrom, to: windowTo, suspect, tenants: ['north'] });
      const one = full.tenants[0]?.patients.list.find((p) => p.accesses === 1);
      assert.ok(one && one.first !== null);
      const exact = await scopeOf({ from: one.first, to: one.first, suspect, tenants: ['north'] });
      assert.deepEqual(exact.tenants[0]?.patients.list.map((p) => p.patient), [one.patient], 'an event at exactly from = to counts');
      const before = await scopeOf({ from: windowFrom - 3 * day, to: windowFrom - 1, suspect, tenants: ['north'] });
      assert.equal(before.totals.patients, 1, 'only the read two days before the window');
      const day1 = await scopeOf({ from: windowFrom, to: windowFrom + day - 1, suspect, tenants: ['north'] });
      assert.equal(day1.totals.patients, 350);
      assert.equal(day1.tenants[0]?.attempts.count, 0);
    });

    it('refuses bad inputs and non-operators', async () => {
      const bad = [
        { from: windowTo, to: windowFrom, suspect: { kind: 'raw-files' }, tenants: 'all' },
        { from: windowFrom - 401 * day, to: windowFrom, suspect: { kind: 'raw-files' }, tenants: 'all' },
        { from: windowFrom, to: windowTo, suspect: { kind: 'session', values: ['x'] }, tenants: 'all' },
        { from: windowFrom, to: windowTo, suspect: { kind: 'address', values: ['example.org'] }, tenants: 'all' },
      ];
      for (const body of bad) {
        const response = await as(t, operator, { method: 'POST', url: '/platform/breach-scope', body, headers: { 'content-type': 'application/json' } });
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        assert.equal(json(response)['code'], 'scope-invalid');
      }
      const unknown = await as(t, operator, { method: 'POST', url: '/platform/breach-scope', body: { from: windowFrom, to: windowTo, suspect: { kind: 'raw-files' }, tenants: ['nowhere'] }, headers: { 'content-type': 'application/json' } });
      assert.equal(json(unknown)['code'], 'tenant-not-found');
      const key = await t.key('north', 'tenant-admin');
      const asTenant = await t.inject({ method: 'POST', url: '/platform/breach-scope', key, body: JSON.stringify({ from: windowFrom, to: windowTo, suspect: { kind: 'raw-files' }, tenants: 'all' }), headers: { 'content-type': 'application/json' } });
      assert.equal(asTenant.statusCode, 401);
    });

    it('scopes an account over its window, across how it came', { timeout: 60_000 }, async () => {
      const desk: Person = await signInWithTotp(t, 'south', 'front-desk', 'desk@example.org', () => now);
      const ids = (created['south'] as string[]).slice(510, 513);
      for (const id of ids) assert.equal((await as(t, desk, { method: 'GET', url: `/tenants/south/fhir/Patient/${id}` })).statusCode, 200);
      const accountId = desk.accountId;
      const scope = await scopeOf({ from: start + 4 * day, to: now + 1, suspect: { kind: 'account', values: [accountId] }, tenants: ['south'] });
      assert.deepEqual(scope.tenants[0]?.patients.list.map((p) => p.patient), ids.map((id) => `Patient/${id}`).sort());
      assert.equal(scope.tenants[0]?.patients.count, 3);
      assert.deepEqual(scope.tenants[0]?.classes.inClear, ['internal', 'personal']);
    });

    it('raw files with the keys safe: ciphertext only, sealed classes named', { timeout: 60_000 }, async () => {
      const scope = await scopeOf({ from: windowFrom, to: windowTo, suspect: { kind: 'raw-files' }, tenants: ['north'] });
      const north = scope.tenants[0];
      assert.ok(north);
      assert.equal(north.patients.count, 750, 'every patient stored, read or not');
      assert.equal(north.records.count, 750 + 75);
      assert.deepEqual(north.classes.inClear, ['internal']);
      assert.ok(north.classes.ciphertextOnly.includes('personal') && north.classes.ciphertextOnly.includes('health'));
      assert.ok(north.patients.list.every((p) => p.disclosure === 'ciphertext-only' && p.first === null));
      assert.equal(scope.totals.inClear, true, 'internal ids and codes are in clear');
      const leaked = await scopeOf({ from: windowFrom, to: windowTo, suspect: { kind: 'raw-files', keysExposed: true }, tenants: ['north'] });
      assert.deepEqual(leaked.tenants[0]?.classes.ciphertextOnly, []);
      assert.ok(leaked.tenants[0]?.patients.list.every((p) => p.disclosure === 'in-clear'));
    });
  });
}
