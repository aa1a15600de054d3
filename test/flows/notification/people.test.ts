import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * The affected people of a breach scope: addressed from their own Patient records, read when
 * asked, and that opening of their records is in their own access log ("who saw my data").
 */
for (const engine of engines()) {
  describe(`affected people of a scope (${engine})`, () => {
    let t: TestApp;
    let key: string;
    let reader: string;
    let auditor: string;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      reader = await t.key('clinic', 'service-reader');
      auditor = await t.key('clinic', 'auditor');
      const people = {
        erika: patient({
          name: [{ use: 'official', given: ['Erika'], family: 'Mustermann' }],
          telecom: [{ system: 'email', value: 'erika@example.org' }],
          address: [{ use: 'home', line: ['Heidestraße 17'], postalCode: '51147', city: 'Köln', state: 'NW', country: 'DE' }],
          communication: [{ preferred: true, language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'de' }] } }],
        }),
        john: patient({ name: [{ given: ['John'], family: 'Doe' }], address: [{ line: ['1 Main St'], city: 'Austin', state: 'TX', country: 'US' }] }),
        gone: patient({ name: [{ given: ['Vera'], family: 'Vergessen' }] }),
        unread: patient({ name: [{ given: ['Nina'], family: 'Nichtgelesen' }] }),
      };
      for (const [name, body] of Object.entries(people)) {
        const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body });
        assert.equal(created.statusCode, 201, created.body);
        ids[name] = json<{ id: string }>(created).id;
      }
      for (const name of ['erika', 'john', 'gone']) assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids[name]}`, key: reader })).statusCode, 200);
      await t.app.keys.shred('clinic', `Patient/${ids['gone']}`);
      await t.app.records.erase({ tenantId: 'clinic', db: await t.app.storage.tenant('clinic') }, `Patient/${ids['gone']}`);
    });
    after(() => t.close());

    it('names exactly the people the scope lists, with how to reach them, and their access log shows it', async () => {
      const readerId = (await t.app.apiKeys.list('clinic')).find((k) => k.role === 'service-reader')?.id as string;
      const by = { actor: { id: 'account:op', role: 'operator', client: 'session' }, sourceIp: '127.0.0.1', requestId: 'req-1' };
      const scope = await t.app.breachScopes.compute({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z', suspect: { kind: 'api-key', values: [readerId] }, tenants: ['clinic'] }, by);
      const people = await t.app.affectedPeople.resolve(scope, 'clinic', by, 'en');
      const byPatient = new Map(people.map((p) => [p.patient, p]));
      assert.deepEqual([...byPatient.keys()].sort(), ['erika', 'john', 'gone'].map((n) => `Patient/${ids[n]}`).sort());
      const erika = byPatient.get(`Patient/${ids['erika']}`);
      assert.equal(erika?.name, 'Erika Mustermann');
      assert.equal(erika?.email, 'erika@example.org');
      assert.deepEqual(erika?.postal, ['Heidestraße 17', '51147 Köln', 'DE']);
      assert.equal(erika?.language, 'de');
      assert.equal(erika?.disclosure, 'in-clear');
      const john = byPatient.get(`Patient/${ids['john']}`);
      assert.deepEqual([john?.country, john?.state, john?.email, john?.language], ['US', 'TX', null, 'en']);
      const gone = byPatient.get(`Patient/${ids['gone']}`);
      assert.equal(gone?.unreachable, 'erased');
      assert.equal(gone?.name, null);

      const log = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['erika']}/$access-log`, key: auditor });
      assert.equal(log.statusCode, 200, log.body);
      const codes = json<{ entry: Array<{ resource: { subtype: Array<{ code: string }> } }> }>(log).entry.map((e) => e.resource.subtype.at(-1)?.code);
      assert.equal(codes[0], 'breach.people_resolved', `newest first: ${codes.join(', ')}`);
      const unread = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['unread']}/$access-log`, key: auditor });
      const unreadCodes = json<{ entry: Array<{ resource: { subtype: Array<{ code: string }> } }> }>(unread).entry.map((e) => e.resource.subtype.at(-1)?.code);
      assert.ok(!unreadCodes.includes('breach.people_resolved'), 'a patient outside the scope was not opened');
    });
  });
}
