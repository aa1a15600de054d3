import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { Client } from 'fhir-kit-client';
import { fixedClock } from '../../../src/platform/clock.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';

type Bundle = { resourceType: string; type: string; total?: number; link: Array<{ relation: string; url: string }>; entry: Array<{ fullUrl: string; resource: Record<string, any> }> };

/** FHIR R4 Patient/$everything: the compartment, exactly, through the caller's guard, audited. */
for (const engine of engines()) {
  describe(`Patient/$everything [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let anna: string;
    let bert: string;
    let annaObservations: string[];
    let annaInvoice: string;
    let sinceMark: string;
    let doctor: Person;
    let stranger: Person;
    let annaHerself: Person;
    const base = '/tenants/clinic/fhir';
    // A clock that moves on by a millisecond per reading (strict lastUpdated order), for TOTP codes too.
    const fixed = fixedClock(new Date('2026-03-01T08:00:00Z'));
    const clock = { now: () => (fixed.advance(1), fixed.now()) };
    const now = () => clock.now().getTime();
    const post = async (type: string, body: unknown) => {
      const response = await t.inject({ method: 'POST', url: `${base}/${type}`, key, body });
      assert.equal(response.statusCode, 201, response.body);
      return json(response)['id'] as string;
    };
    const everything = async (who: { key?: string; person?: Person }, id: string, query = '', headers: Record<string, string> = {}) =>
      who.person === undefined
        ? t.inject({ method: 'GET', url: `${base}/Patient/${id}/$everything${query}`, key: who.key ?? key, headers })
        : as(t, who.person, { method: 'GET', url: `${base}/Patient/${id}/$everything${query}`, headers });
    const ids = (bundle: Bundle) => bundle.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort();

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      key = await t.tenant('clinic');
      const practitioner = await post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Hartmann', given: ['Lena'] }] });
      const other = await post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Other' }] });
      anna = await post('Patient', patient({ deceasedBoolean: false, generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] }));
      bert = await post('Patient', patient({ name: [{ family: 'Bauer', given: ['Bert'] }], identifier: [{ system: 'urn:x', value: 'B2' }] }));
      annaObservations = [];
      for (let i = 0; i < 5; i++) annaObservations.push(await post('Observation', observation(anna, { valueQuantity: { value: 60 + i, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' } })));
      await post('Appointment', { resourceType: 'Appointment', status: 'booked', description: 'Cardiology follow-up', participant: [{ actor: { reference: `Patient/${anna}` }, status: 'accepted' }] });
      await post('Consent', {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${anna}` },
      });
      annaInvoice = await post('Invoice', { resourceType: 'Invoice', status: 'issued', subject: { reference: `Patient/${anna}` }, totalNet: { value: 80, currency: 'EUR' } });
      // Bert's records, which must never appear in Anna's answer.
      await post('Observation', observation(bert));
      await post('Invoice', { resourceType: 'Invoice', status: 'issued', subject: { reference: `Patient/${bert}` } });
      sinceMark = new Date(Date.parse(json(await t.inject({ method: 'GET', url: `${base}/Invoice/${annaInvoice}`, key }))['meta'].lastUpdated) + 1).toISOString();
      await post('Observation', observation(anna, { status: 'amended' }));
      doctor = await signInWithTotp(t, 'clinic', 'clinician', 'lena@clinic.example', now, { practitioner: `Practitioner/${practitioner}` });
      stranger = await signInWithTotp(t, 'clinic', 'clinician', 'other@clinic.example', now, { practitioner: `Practitioner/${other}` });
      annaHerself = await signIn(t, 'clinic', 'patient', 'anna@example.org', { patient: `Patient/${anna}` });
    });
    after(() => t.close());

    it('returns the Patient and exactly their compartment, and no one else’s records', async () => {
      const response = await everything({}, anna, '?_count=1000');
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /application\/fhir\+json/);
      const bundle = json<Bundle>(response);
      assert.equal(bundle.type, 'searchset');
      assert.equal(bundle.total, 10);
      const found = ids(bundle);
      assert.equal(found.length, 10);
      assert.ok(found.includes(`Patient/${anna}`));
      assert.ok(found.includes(`Invoice/${annaInvoice}`));
      for (const o of annaObservations) assert.ok(found.includes(`Observation/${o}`));
      assert.ok(!found.includes(`Patient/${bert}`));
      for (const entry of bundle.entry) {
        const r = entry.resource;
        const ref = JSON.stringify(r);
        assert.ok(!ref.includes(`Patient/${bert}`), `${r['resourceType']}/${r['id']} mentions Bert`);
      }
      assert.equal(bundle.link.find((l) => l.relation === 'next'), undefined);
    });

    it('pages with a keyset cursor: every record once, in order, until no next link', async () => {
      const seen: string[] = [];
      let url: string | undefined = `${base}/Patient/${anna}/$everything?_count=3`;
      let pages = 0;
      while (url !== undefined) {
        const response = await t.inject({ method: 'GET', url, key });
        assert.equal(response.statusCode, 200, response.body);
        const bundle = json<Bundle>(response);
        assert.ok(bundle.entry.length <= 3);
        seen.push(...bundle.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`));
        const next = bundle.link.find((l) => l.relation === 'next')?.url;
        url = next === undefined ? undefined : next.slice(next.indexOf('/tenants/'));
        pages++;
      }
      assert.equal(pages, 4);
      assert.equal(seen.length, 10);
      assert.equal(new Set(seen).size, 10);
    });

    it('_type keeps to the types named, _since to records updated since', async () => {
      const typed = json<Bundle>(await everything({}, anna, '?_type=Observation,Invoice'));
      assert.deepEqual([...new Set(typed.entry.map((e) => e.resource['resourceType']))].sort(), ['Invoice', 'Observation']);
      assert.equal(typed.entry.length, 7);
      const since = json<Bundle>(await everything({}, anna, `?_since=${encodeURIComponent(sinceMark)}`));
      assert.deepEqual(
        since.entry.map((e) => e.resource['status']),
        ['amended'],
      );
      assert.equal(since.total, undefined);
      assert.equal(errorCode(await everything({}, anna, '?_type=Practitioner')), 'search-invalid');
      assert.equal(errorCode(await everything({}, anna, '?_since=yesterday')), 'search-invalid');
      assert.equal(errorCode(await everything({}, anna, '?start=2020-01-01')), 'search-invalid');
      assert.equal((await everything({}, anna, '?_count=1001')).statusCode, 400);
      assert.equal((await everything({}, 'nobody')).statusCode, 404);
    });

    it('a clinician in care gets the clinical records without payment data; one out of care gets 403, audited', async () => {
      const response = await everything({ person: doctor }, anna);
      assert.equal(response.statusCode, 200, response.body);
      const bundle = json<Bundle>(response);
      assert.ok(!bundle.entry.some((e) => e.resource['resourceType'] === 'Invoice'), 'the clinician reads no Invoice');
      assert.ok(bundle.entry.some((e) => e.resource['resourceType'] === 'Observation'));
      const denied = await everything({ person: stranger }, anna);
      assert.equal(denied.statusCode, 403);
      assert.equal(errorCode(denied), 'not-in-care');
      const refusals = await t.app.audit.query('clinic', { count: 5, actions: ['access.denied'], actor: `account:${stranger.accountId}` });
      assert.equal(refusals.length, 1);
      // Break-the-glass opens it, recorded for review.
      const glass = await everything({ person: stranger }, anna, '', { 'x-break-glass-reason': 'Unconscious patient in the emergency room' });
      assert.equal(glass.statusCode, 200, glass.body);
      const grants = await t.app.audit.query('clinic', { count: 5, actions: ['access.emergency_granted'], actor: `account:${stranger.accountId}` });
      assert.ok(grants.length >= 1);
    });

    it('redacts what the role may not read (front desk: demographics, no health values)', async () => {
      const desk = await t.key('clinic', 'front-desk');
      const bundle = json<Bundle>(await everything({ key: desk }, anna));
      const types = new Set(bundle.entry.map((e) => e.resource['resourceType']));
      assert.deepEqual([...types].sort(), ['Appointment', 'Patient']);
      const redacted = bundle.entry.filter((e) => (e.resource['meta']?.security ?? []).some((s: { code: string }) => s.code === 'REDACTED'));
      const billing = await t.key('clinic', 'billing');
      assert.equal((await everything({ key: billing }, anna)).statusCode, 403, 'billing may not read the Patient');
      // The Patient's and the appointment's health elements are gone where the desk sees them.
      assert.equal(redacted.length, 2);
      for (const entry of redacted) {
        assert.equal(entry.resource['deceasedBoolean'], undefined);
        assert.equal(entry.resource['description'], undefined);
      }
      assert.equal(bundle.entry.find((e) => e.resource['resourceType'] === 'Patient')?.resource['name'][0].family, 'Müller', 'demographics stay');
    });

    it('a patient runs it on their own record only', async () => {
      const own = await everything({ person: annaHerself }, anna);
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(json<Bundle>(own).entry.length, 10);
      const other = await everything({ person: annaHerself }, bert);
      assert.equal(other.statusCode, 403);
      assert.equal(errorCode(other), 'outside-compartment');
    });

    it('each page is audited as record.exported with the subject and the classes, never contents', async () => {
      await everything({ person: doctor }, anna, '?_type=Observation');
      const [event] = await t.app.audit.query('clinic', { count: 1, actions: ['record.exported'], actor: `account:${doctor.accountId}` });
      assert.ok(event !== undefined);
      assert.deepEqual(event.subjects, [`Patient/${anna}`]);
      assert.ok(event.classes.includes('health'));
      assert.equal(event.resources.length, 6);
      assert.ok(event.resources.every((r) => r.startsWith('Observation/')));
      assert.equal(event.purpose, 'TREAT');
      assert.ok(!JSON.stringify(event).includes('beats/minute'));
    });

    it('a FHIR client library runs it and follows the next links to the end', async () => {
      const address = await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      const client = new Client({ baseUrl: `${address}/tenants/clinic/fhir`, customHeaders: { authorization: `Bearer ${key}` } });
      const seen: string[] = [];
      let page = (await client.operation({ name: '$everything', resourceType: 'Patient', id: anna, method: 'GET', input: { _count: '4' } })) as unknown as Bundle;
      for (;;) {
        seen.push(...page.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`));
        const next = client.nextPage({ bundle: page as never });
        if (next === undefined) break;
        page = (await next) as unknown as Bundle;
      }
      assert.equal(seen.length, 10);
      assert.ok(seen.includes(`Patient/${anna}`));
      assert.ok(!seen.includes(`Patient/${bert}`));
    });
  });
}
