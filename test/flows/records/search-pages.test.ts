import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, type Person } from '../../support/people.js';

const loincHeartRate = 'http://loinc.org|8867-4';

for (const engine of engines()) {
  describe(`FHIR search pages [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const ids: Record<string, string> = {};
    /** Every Observation of `anna`: id, effective instant (null without one), in creation order. */
    const annas: Array<{ id: string; effective: number | null }> = [];
    const people: Record<string, Person> = {};
    const get = async (url: string, who?: Person) => (who === undefined ? t.inject({ method: 'GET', url, key }) : as(t, who, { method: 'GET', url }));
    const create = async (body: Record<string, unknown>) => json(await t.inject({ method: 'POST', url: `${base}/${String(body['resourceType'])}`, key, body }))['id'] as string;

    /** Follows next links from `first`; returns the ids in the order served and the links followed. */
    async function walk(first: string, who?: Person): Promise<{ ids: string[]; links: string[]; totals: unknown[] }> {
      const seen: string[] = [];
      const links: string[] = [];
      const totals: unknown[] = [];
      let url: string | undefined = `${base}/${first}`;
      while (url !== undefined) {
        const response = await get(url, who);
        assert.equal(response.statusCode, 200, response.body);
        const bundle = json(response);
        totals.push(bundle['total']);
        for (const entry of bundle['entry'] ?? []) seen.push(entry.resource.id);
        const next = (bundle['link'] as Array<{ relation: string; url: string }>).find((l) => l.relation === 'next')?.url;
        if (next !== undefined) links.push(next);
        url = next === undefined ? undefined : new URL(next).pathname + new URL(next).search;
        assert.ok(links.length < 100, 'paging ends');
      }
      return { ids: seen, links, totals };
    }

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      ids['dr'] = await create({ resourceType: 'Practitioner', name: [{ family: 'Haus', given: ['Greta'] }] });
      ids['anna'] = await create(patient({ generalPractitioner: [{ reference: `Practitioner/${ids['dr']}` }] }));
      ids['bob'] = await create(patient({ name: [{ family: 'Stranger', given: ['Bob'] }], identifier: [{ system: 'urn:mrn', value: 'B-2' }] }));
      // Ties on the date (three readings share each instant), records without a date, and a
      // code given twice in one record (one index row, so one match).
      const instants = ['2025-05-03T10:00:00Z', '2025-05-01T10:00:00Z', '2025-05-02T10:00:00Z'];
      for (let i = 0; i < 9; i += 1) {
        const effectiveDateTime = instants[i % 3] as string;
        const twice = i === 4 ? { code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }, { system: 'http://loinc.org', code: '8867-4' }] } } : {};
        annas.push({ id: await create(observation(ids['anna'] as string, { effectiveDateTime, ...twice })), effective: Date.parse(effectiveDateTime) });
      }
      for (let i = 0; i < 3; i += 1) annas.push({ id: await create(observation(ids['anna'] as string, { effectiveDateTime: undefined })), effective: null });
      annas.push({ id: await create(observation(ids['anna'] as string, { effectiveDateTime: '2024-12-31T23:00:00Z' })), effective: Date.parse('2024-12-31T23:00:00Z') });
      for (let i = 0; i < 5; i += 1) ids[`bob${i}`] = await create(observation(ids['bob'] as string, { effectiveDateTime: '2025-05-02T10:00:00Z' }));

      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      people['clinician'] = await signIn(t, 'clinic', 'clinician', 'dr@clinic.example', { practitioner: `Practitioner/${ids['dr']}` });
      people['bob'] = await signIn(t, 'clinic', 'patient', 'bob@clinic.example', { patient: `Patient/${ids['bob']}` });
    });
    after(() => t.close());

    const byDate = (descending: boolean) => {
      const sign = descending ? -1 : 1;
      return [...annas]
        .sort((a, b) => {
          if ((a.effective === null) !== (b.effective === null)) return a.effective === null ? 1 : -1;
          if (a.effective !== null && b.effective !== null && a.effective !== b.effective) return sign * (a.effective - b.effective);
          return sign * (a.id < b.id ? -1 : 1);
        })
        .map((o) => o.id);
    };

    it('pages by cursor: every match once, in order, ties on the date broken by id in the same direction, records without a date last', async () => {
      const query = `patient=${ids['anna']}&code=${encodeURIComponent(loincHeartRate)}&_count=4`;
      const inCreation = annas.map((o) => o.id);
      const expected: Record<string, string[]> = {
        '': inCreation,
        '&_sort=_lastUpdated': inCreation,
        '&_sort=-_lastUpdated': [...inCreation].reverse(),
        '&_sort=date': byDate(false),
        '&_sort=-date': byDate(true),
      };
      for (const [sort, order] of Object.entries(expected)) {
        const paged = await walk(`Observation?${query}${sort}`);
        assert.deepEqual(paged.ids, order, `order of ${sort || 'the default sort'}`);
        assert.equal(paged.links.length, Math.ceil(order.length / 4) - 1);
        for (const link of paged.links) {
          assert.match(link, /[?&]_cursor=/, 'next links carry a cursor');
          assert.doesNotMatch(link, /_offset=/);
        }
      }
      // Without a walkable equality (a date alone) the records table is read, with the same cursors.
      const scanned = await walk(`Observation?date=ge2025-01-01&_count=5&_sort=-date`);
      const dated = [...byDate(true).filter((id) => annas.find((o) => o.id === id)?.effective !== Date.parse('2024-12-31T23:00:00Z') && annas.find((o) => o.id === id)?.effective !== null)];
      assert.deepEqual(scanned.ids.filter((id) => annas.some((o) => o.id === id)), dated);
      assert.equal(new Set(scanned.ids).size, scanned.ids.length, 'no match twice');
      assert.equal(scanned.ids.length, dated.length + 5);
    });

    it('still follows offset links, and refuses a cursor it did not make or one of another order', async () => {
      const query = `Observation?patient=${ids['anna']}&_count=5`;
      const second = json(await get(`${base}/${query}&_offset=5`));
      assert.deepEqual(second['entry'].map((e: any) => e.resource.id), annas.slice(5, 10).map((o) => o.id));
      assert.match(second['link'].find((l: any) => l.relation === 'previous').url, /_offset=0/);
      const descending = json(await get(`${base}/${query}&_offset=5&_sort=-_lastUpdated`));
      assert.deepEqual(descending['entry'].map((e: any) => e.resource.id), annas.map((o) => o.id).reverse().slice(5, 10));
      const byDateOffset = json(await get(`${base}/${query}&_offset=5&_sort=-date`));
      assert.deepEqual(byDateOffset['entry'].map((e: any) => e.resource.id), byDate(true).slice(5, 10));
      for (const bad of ['x', 'u12.', "u1.a' OR 1=1", 'u99999999999999999.a', '']) {
        const response = await get(`${base}/${query}&_cursor=${encodeURIComponent(bad)}`);
        assert.equal(response.statusCode, 400, bad);
        assert.equal(errorCode(response), 'search-invalid');
      }
      const first = json(await get(`${base}/${query}`));
      const next = new URL(first['link'].find((l: any) => l.relation === 'next').url);
      const cursor = next.searchParams.get('_cursor') as string;
      assert.equal(errorCode(await get(`${base}/${query}&_sort=date&_cursor=${cursor}`)), 'search-invalid', 'a cursor of another order');
      assert.equal(errorCode(await get(`${base}/${query}&_offset=5&_cursor=${cursor}`)), 'search-invalid', 'cursor and offset together');
    });

    it('_total: none, estimate, accurate, and by default the count when it is within the bound', async () => {
      const query = `Observation?patient=${ids['anna']}&code=${encodeURIComponent(loincHeartRate)}&_count=4`;
      assert.equal(json(await get(`${base}/${query}`))['total'], 13);
      assert.equal(json(await get(`${base}/${query}&_total=none`))['total'], undefined);
      assert.equal(json(await get(`${base}/${query}&_total=accurate`))['total'], 13);
      assert.equal(json(await get(`${base}/${query}&_total=estimate`))['total'], 13);
      const paged = await walk(`${query}&_total=accurate`);
      assert.deepEqual(paged.totals, [13, 13, 13, 13], 'every page counts the same');
      for (const link of paged.links) assert.match(link, /_total=accurate/);
      assert.equal(json(await get(`${base}/Observation?code=${encodeURIComponent(loincHeartRate)}&_count=0`))['total'], 18);
      assert.equal(json(await get(`${base}/Observation?patient=${ids['anna']}&_count=0&_total=none`))['total'], undefined);
      assert.equal(errorCode(await get(`${base}/${query}&_total=exact`)), 'search-invalid');
    });

    it("counts and pages only what the caller may see: a clinician their patients' records, a patient their own", async () => {
      const code = `code=${encodeURIComponent(loincHeartRate)}`;
      const annaIds = annas.map((o) => o.id);
      const dr = people['clinician'] as Person;
      for (const total of ['', '&_total=accurate', '&_total=estimate']) {
        const paged = await walk(`Observation?${code}&_count=5${total}`, dr);
        assert.deepEqual(paged.ids, annaIds, `the clinician's pages${total}`);
        assert.ok(paged.totals.every((n) => n === 13), `the clinician's count${total}: ${paged.totals.join(',')}`);
      }
      const bob = people['bob'] as Person;
      const own = await walk(`Observation?${code}&_count=2&_total=estimate`, bob);
      assert.deepEqual(own.ids, [0, 1, 2, 3, 4].map((i) => ids[`bob${i}`]));
      assert.ok(own.totals.every((n) => n === 5));
      // A cursor made up to point into another patient's records moves within the caller's own only.
      const forged = json(await get(`${base}/Observation?${code}&_count=50&_cursor=u0.${ids['bob0']}`, dr));
      assert.deepEqual(forged['entry'].map((e: any) => e.resource.id), annaIds);
      assert.equal(json(await get(`${base}/Observation?patient=${ids['anna']}&_count=1`, bob)).total ?? 0, 0, "another patient's records are not counted");
    });

    it('leaves the total out by default past the bound, and counts it when asked', { timeout: 300_000 }, async () => {
      const many = 1_001;
      for (let done = 0; done < many; done += 250) {
        const entry = Array.from({ length: Math.min(250, many - done) }, () => ({ request: { method: 'POST', url: 'Observation' }, resource: observation(ids['bob'] as string, { code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, effectiveDateTime: '2025-06-01' }) }));
        const response = await t.inject({ method: 'POST', url: base, key, body: { resourceType: 'Bundle', type: 'transaction', entry } });
        assert.equal(response.statusCode, 200, response.body);
      }
      const query = `Observation?patient=${ids['bob']}&code=${encodeURIComponent('http://loinc.org|29463-7')}&_count=50`;
      const plain = json(await get(`${base}/${query}`));
      assert.equal(plain['total'], undefined, 'more than the bound: no total unless asked');
      assert.equal(plain['entry'].length, 50);
      assert.equal(json(await get(`${base}/${query}&_total=accurate`))['total'], many);
      const estimate = json(await get(`${base}/${query}&_total=estimate`))['total'] as number;
      assert.ok(estimate >= many && estimate <= many + 5, `estimate ${estimate}: the patient's records, the code unapplied`);
    });
  });
}
