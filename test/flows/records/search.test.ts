import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`FHIR search [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const ids: Record<string, string> = {};
    const search = async (query: string, headers: Record<string, string> = {}) => t.inject({ method: 'GET', url: `${base}/${query}`, key, headers });
    const idsOf = (bundle: any) => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      const create = async (body: unknown) => json(await t.inject({ method: 'POST', url: `${base}/${(body as any).resourceType}`, key, body }))['id'] as string;
      ids['anna'] = await create(patient());
      ids['bob'] = await create(patient({ name: [{ family: 'Øster', given: ['Bob'] }], birthDate: '1975-12', gender: 'male', identifier: [{ system: 'urn:mrn', value: "x'; DROP TABLE resources;--" }] }));
      ids['carl'] = await create(patient({ name: [{ text: 'Carl von Ossietzky' }], birthDate: '2001-07-09', identifier: [{ value: 'plain-1' }] }));
      for (let i = 0; i < 7; i += 1) {
        ids[`hr${i}`] = await create(observation(ids['anna'] as string, { effectiveDateTime: `2025-05-0${i + 1}T10:00:00Z` }));
      }
      ids['bp'] = await create(observation(ids['anna'] as string, { code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, category: [{ coding: [{ code: 'laboratory' }] }], effectiveDateTime: undefined, effectivePeriod: { start: '2024-01-01', end: '2024-01-31' } }));
      ids['bobhr'] = await create(observation(ids['bob'] as string, { effectiveDateTime: '2023-03-03' }));
      ids['appt'] = await create({ resourceType: 'Appointment', status: 'booked', start: '2026-02-01T09:00:00Z', end: '2026-02-01T09:30:00Z', participant: [{ actor: { reference: `Patient/${ids['anna']}` }, status: 'accepted' }] });
      ids['consent'] = await create({ resourceType: 'Consent', status: 'active', scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] }, category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }], patient: { reference: `Patient/${ids['bob']}` } });
    });
    after(() => t.close());

    it('finds patients by identifier, name (a whole name part, accent- and case-insensitive), birthdate and _id — all blind indexes', async () => {
      assert.deepEqual(idsOf(json(await search('Patient?identifier=urn:oid:1.2.276.0.76.4.8|A123456789'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?identifier=A123456789'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?identifier=|plain-1'))), [ids['carl']]);
      assert.deepEqual(idsOf(json(await search('Patient?identifier=urn:other|A123456789'))), []);
      assert.deepEqual(idsOf(json(await search('Patient?name=MULLER'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?name=müller'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?name=mull'))), [], 'a blind index matches whole parts only');
      assert.deepEqual(idsOf(json(await search('Patient?name=oster'))), [ids['bob']]);
      assert.deepEqual(idsOf(json(await search('Patient?name=ossietzky'))), [ids['carl']]);
      assert.deepEqual(idsOf(json(await search('Patient?name=anna,bob'))), [ids['anna'], ids['bob']].sort());
      assert.deepEqual(idsOf(json(await search('Patient?birthdate=1980-02-03'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?birthdate=1980-02'))), [ids['anna']]);
      assert.deepEqual(idsOf(json(await search('Patient?birthdate=1975'))), [ids['bob']]);
      assert.deepEqual(idsOf(json(await search('Patient?gender=male'))), [ids['bob']]);
      const range = await search('Patient?birthdate=lt1990');
      assert.equal(range.statusCode, 400, 'ranges over an encrypted birth date are refused, not answered wrongly');
      assert.match(json(range)['issue'][0].diagnostics, /encrypted/);
      assert.deepEqual(idsOf(json(await search(`Patient?_id=${ids['carl']}`))), [ids['carl']]);
    });

    it('treats SQL meta-characters as data', async () => {
      const bundle = json(await search(`Patient?identifier=${encodeURIComponent("urn:mrn|x'; DROP TABLE resources;--")}`));
      assert.deepEqual(idsOf(bundle), [ids['bob']]);
      assert.equal(json(await search("Patient?name=%27%20OR%201%3D1--"))['total'], 0);
    });

    it('finds observations by patient, subject, code, category and date with prefixes', async () => {
      const anna = ids['anna'] as string;
      assert.equal(json(await search(`Observation?patient=${anna}`))['total'], 8);
      assert.equal(json(await search(`Observation?subject=Patient/${anna}`))['total'], 8);
      assert.equal(json(await search(`Observation?patient=Patient/${anna}&code=http://loinc.org|8867-4`))['total'], 7);
      assert.equal(json(await search('Observation?code=85354-9'))['total'], 1);
      assert.equal(json(await search('Observation?category=laboratory'))['total'], 1);
      assert.equal(json(await search(`Observation?patient=${anna}&date=ge2025-05-03&date=lt2025-05-06`))['total'], 3);
      assert.equal(json(await search('Observation?date=2025-05-01'))['total'], 1);
      assert.equal(json(await search('Observation?date=eq2024-01'))['total'], 1, 'the January period lies within 2024-01');
      assert.equal(json(await search('Observation?date=sa2025-05-06'))['total'], 1);
      assert.equal(json(await search('Observation?date=eb2024'))['total'], 1);
      assert.equal(json(await search('Observation?date=ne2025-05-01'))['total'], 8);
      assert.equal(json(await search(`Observation?patient=${ids['bob']}`))['total'], 1);
    });

    it('finds appointments and consents', async () => {
      assert.deepEqual(idsOf(json(await search(`Appointment?patient=${ids['anna']}&status=booked&date=ge2026-02-01`))), [ids['appt']]);
      assert.deepEqual(idsOf(json(await search('Appointment?status=cancelled'))), []);
      assert.deepEqual(idsOf(json(await search(`Consent?patient=${ids['bob']}`))), [ids['consent']]);
    });

    it('pages with _count, next links, totals and _sort', async () => {
      const first = json(await search(`Observation?patient=${ids['anna']}&_count=3&_sort=-date`));
      assert.equal(first['total'], 8);
      assert.equal(first['entry'].length, 3);
      const dates = first['entry'].map((e: any) => e.resource.effectiveDateTime);
      assert.deepEqual(dates, ['2025-05-07T10:00:00Z', '2025-05-06T10:00:00Z', '2025-05-05T10:00:00Z']);
      const seen = new Set<string>(first['entry'].map((e: any) => e.resource.id));
      let next = first['link'].find((l: any) => l.relation === 'next')?.url as string | undefined;
      while (next !== undefined) {
        const url = new URL(next);
        const page = json(await t.inject({ method: 'GET', url: url.pathname + url.search, key }));
        for (const e of page['entry']) seen.add(e.resource.id);
        next = page['link'].find((l: any) => l.relation === 'next')?.url;
      }
      assert.equal(seen.size, 8, 'following next links visits every match once');
      const pastTheEnd = json(await search(`Observation?patient=${ids['anna']}&_offset=100`));
      assert.equal(pastTheEnd['total'], 8, 'a page past the end still reports the total');
      assert.equal(pastTheEnd['entry'].length, 0);
      const countOnly = json(await search('Observation?_count=0'));
      assert.equal(countOnly['total'], 9);
      assert.equal(countOnly['entry'].length, 0);
      const byUpdated = json(await search('Patient?_sort=-_lastUpdated'));
      assert.deepEqual(byUpdated['entry'].map((e: any) => e.resource.id), [ids['carl'], ids['bob'], ids['anna']]);
      assert.equal(json(await search('Patient?_total=none'))['total'], undefined);
    });

    it('supports POST _search with a form body', async () => {
      const response = await t.inject({ method: 'POST', url: `${base}/Patient/_search`, key, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=anna' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(idsOf(json(response)), [ids['anna']]);
    });

    it('refuses unknown parameters, modifiers and bad values with 400 unless lenient', async () => {
      const unknown = await search('Patient?shoe-size=42');
      assert.equal(unknown.statusCode, 400);
      assert.equal(errorCode(unknown), 'search-invalid');
      assert.deepEqual(json(unknown)['issue'][0].expression, ['shoe-size']);
      const lenient = await search('Patient?shoe-size=42&name=anna', { prefer: 'handling=lenient' });
      assert.equal(lenient.statusCode, 200);
      assert.doesNotMatch(json(lenient)['link'][0].url, /shoe-size/);
      for (const bad of ['Patient?name:contains=a', 'Patient?birthdate=ap2000', 'Patient?birthdate=2000-13-01', 'Patient?_sort=birthdate', 'Patient?_count=1001', 'Patient?_count=-1', 'Patient?_sort=name', 'Observation?patient=a/b/c']) {
        assert.equal((await search(bad)).statusCode, 400, bad);
      }
    });
  });
}
