import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn } from '../../support/people.js';

/**
 * The access rules over real traffic: each attack pattern sent over HTTP as a client would send
 * it, evaluated afterwards by the engine, one alert per principal with its count and its
 * events — and the benign pattern beside it raises nothing. Thresholds lowered so the patterns
 * stay short; the clock is the test's own (working hours, nights).
 */
const thresholds = {
  'access.mass-read': { patients: 5, servicePatients: 8 },
  'access.bulk-volume': { resources: 6, serviceResources: 50 },
  'access.denied-burst': { denials: 3 },
};

for (const engine of engines()) {
  describe(`access rules [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    // Monday 2 March 2026, 09:00 UTC: within the default working hours (UTC, Mon–Fri 07–19).
    let now = Date.parse('2026-03-02T09:00:00Z');
    const clock = { now: () => new Date((now += 1)) };
    const fhir = '/tenants/clinic/fhir';
    const patients: string[] = [];
    let practitioner = '';

    const create = async (type: string, body: unknown): Promise<string> => {
      const response = await t.inject({ method: 'POST', url: `${fhir}/${type}`, key, body });
      assert.equal(response.statusCode, 201, response.body);
      return json(response)['id'] as string;
    };
    const evaluate = async (realm = 'clinic') => {
      await t.app.detection?.evaluate(realm);
    };
    const alerts = (rule: string, realm = 'clinic') => t.app.alerts.list(realm, { rule });

    before(async () => {
      t = await startTestApp(engine, { detection: { walkSeconds: 3600, rules: thresholds } }, { clock });
      key = await t.tenant('clinic');
      // Second factors are another flow's business; here people sign in with a password only.
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      practitioner = await create('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Weber' }] });
      for (let i = 0; i < 10; i += 1) patients.push(await create('Patient', patient({ name: [{ family: `Muster${i}` }], generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] })));
      await evaluate();
    });
    after(() => t.close());

    it('access.mass-read: a person opening many patients raises one alert with its count and events; an ordinary day does not', async () => {
      const walker = await signIn(t, 'clinic', 'front-desk', 'walker@clinic.example');
      const ordinary = await signIn(t, 'clinic', 'front-desk', 'ordinary@clinic.example');
      for (const id of patients.slice(0, 3)) for (let i = 0; i < 3; i += 1) assert.equal((await as(t, ordinary, { method: 'GET', url: `${fhir}/Patient/${id}` })).statusCode, 200);
      for (const id of patients.slice(0, 7)) assert.equal((await as(t, walker, { method: 'GET', url: `${fhir}/Patient/${id}` })).statusCode, 200);
      await evaluate();
      const raised = await alerts('access.mass-read');
      assert.equal(raised.length, 1, 'the walker only');
      const [alert] = raised;
      assert.equal(alert?.subject, `account:${walker.accountId}`);
      assert.equal(alert?.severity, 'high');
      assert.equal(alert?.count, 3, 'the fifth patient crossed; the sixth and seventh joined');
      const detail = await t.app.alerts.get('clinic', alert?.id as string);
      assert.equal(detail.events.length, 7, 'the reads of the window, then each after the crossing');
      assert.ok(detail.events.every((e) => e.action === 'record.read' && e.actor.id === `account:${walker.accountId}`));
      assert.ok(!JSON.stringify(detail).includes('Muster'), 'no record contents in the alert');
    });

    it('access.mass-read: a service key is held to its own, higher ceiling', async () => {
      const sync = await t.key('clinic', 'service-reader');
      for (const id of patients.slice(0, 7)) assert.equal((await t.inject({ method: 'GET', url: `${fhir}/Patient/${id}`, key: sync })).statusCode, 200);
      await evaluate();
      assert.equal((await alerts('access.mass-read')).length, 1, 'seven patients: within a service key’s eight');
      for (const id of patients.slice(7, 9)) assert.equal((await t.inject({ method: 'GET', url: `${fhir}/Patient/${id}`, key: sync })).statusCode, 200);
      await evaluate();
      const raised = await alerts('access.mass-read');
      assert.equal(raised.length, 2);
      assert.match(raised.find((a) => !a.subject.startsWith('account:'))?.summary ?? '', /\(service-reader\) read records of 8 or more different patients/);
    });

    it('access.bulk-volume: searches returning a bulk of records raise an alert; a page of three does not', async () => {
      const puller = await signIn(t, 'clinic', 'front-desk', 'puller@clinic.example');
      const browser = await signIn(t, 'clinic', 'front-desk', 'browser@clinic.example');
      assert.equal(json(await as(t, browser, { method: 'GET', url: `${fhir}/Patient?_count=3` }))['entry'].length, 3);
      assert.equal(json(await as(t, puller, { method: 'GET', url: `${fhir}/Patient?_count=100` }))['entry'].length, 10);
      await evaluate();
      const raised = await alerts('access.bulk-volume');
      assert.deepEqual(raised.map((a) => a.subject), [`account:${puller.accountId}`]);
      assert.match(raised[0]?.summary ?? '', /received 10 resources from searches and exports within 60 minutes \(limit 6\)/);
      const detail = await t.app.alerts.get('clinic', raised[0]?.id as string);
      assert.deepEqual(detail.events.map((e) => e.action), ['record.searched']);
    });

    it('access.emergency: each break-the-glass use is an alert for the review page; the third use is critical; the reason stays out', async () => {
      const dr = await signIn(t, 'clinic', 'clinician', 'dr@clinic.example', { practitioner: `Practitioner/${practitioner}` });
      const stranger = await create('Patient', patient({ name: [{ family: 'Fremd' }] }));
      const vitals = await create('Observation', observation(stranger));
      const mine = await create('Observation', observation(patients[0] as string));
      const reason = 'Unconscious in the emergency room; suspected hypoglycaemia';
      assert.equal((await as(t, dr, { method: 'GET', url: `${fhir}/Observation/${mine}` })).statusCode, 200);
      await evaluate();
      assert.equal((await alerts('access.emergency')).length, 0, 'a read within one’s care is no emergency');
      assert.equal((await as(t, dr, { method: 'GET', url: `${fhir}/Observation/${vitals}`, headers: { 'x-break-glass-reason': reason } })).statusCode, 200);
      await evaluate();
      let [alert] = await alerts('access.emergency');
      assert.equal(alert?.severity, 'medium');
      assert.equal(alert?.subject, `account:${dr.accountId}`);
      assert.match(alert?.summary ?? '', new RegExp(`break-the-glass for Patient/${stranger}; review it at /tenants/clinic/console/review/`));
      for (let i = 0; i < 2; i += 1) assert.equal((await as(t, dr, { method: 'GET', url: `${fhir}/Observation/${vitals}`, headers: { 'x-break-glass-reason': reason } })).statusCode, 200);
      await evaluate();
      const raised = await alerts('access.emergency');
      assert.equal(raised.length, 1, 'one alert about the person, with a count');
      [alert] = raised;
      assert.equal(alert?.severity, 'critical');
      assert.equal(alert?.count, 3);
      const detail = await t.app.alerts.get('clinic', alert?.id as string);
      assert.equal(detail.events.length, 3);
      assert.ok(detail.events.every((e) => e.action === 'access.emergency_granted'));
      assert.ok(!JSON.stringify({ ...detail, events: [] }).includes('hypoglycaemia'), 'the typed reason never reaches the alert');
    });

    it('access.denied-burst: refusal after refusal raises an alert; one refusal does not', async () => {
      const prober = await signIn(t, 'clinic', 'front-desk', 'prober@clinic.example');
      const once = await signIn(t, 'clinic', 'front-desk', 'once@clinic.example');
      const obs = await create('Observation', observation(patients[1] as string));
      assert.equal((await as(t, once, { method: 'GET', url: `${fhir}/Observation/${obs}` })).statusCode, 403);
      for (let i = 0; i < 4; i += 1) assert.equal((await as(t, prober, { method: 'GET', url: `${fhir}/Observation/${obs}` })).statusCode, 403);
      await evaluate();
      const raised = await alerts('access.denied-burst');
      assert.deepEqual(raised.map((a) => a.subject), [`account:${prober.accountId}`]);
      assert.equal(raised[0]?.count, 2);
      const detail = await t.app.alerts.get('clinic', raised[0]?.id as string);
      assert.ok(detail.events.length >= 3 && detail.events.every((e) => e.action === 'access.denied'));
    });

    it('access.cross-tenant: a key or a session of this tenant at another is an alert in its home; use at home is not', async () => {
      await t.tenant('rival');
      const agent = await t.key('clinic', 'service');
      const person = await signIn(t, 'clinic', 'front-desk', 'visitor@clinic.example');
      assert.equal((await t.inject({ method: 'GET', url: `${fhir}/Patient?_count=1`, key: agent })).statusCode, 200);
      await evaluate();
      assert.equal((await alerts('access.cross-tenant')).length, 0);
      for (let i = 0; i < 2; i += 1) assert.equal((await t.inject({ method: 'GET', url: '/tenants/rival/fhir/Patient', key: agent })).statusCode, 403);
      assert.equal((await as(t, person, { method: 'GET', url: '/tenants/rival/fhir/Patient' })).statusCode, 401);
      await evaluate();
      await evaluate('rival');
      const raised = await alerts('access.cross-tenant');
      assert.equal(raised.length, 2, 'the key and the person');
      assert.ok(raised.every((a) => a.severity === 'high' && a.summary.includes('at tenant rival')));
      const byKey = raised.find((a) => !a.subject.startsWith('account:'));
      assert.equal(byKey?.count, 2, 'every attempt counts');
      assert.ok(raised.some((a) => a.subject === `account:${person.accountId}`), 'the session, recorded in its home');
      assert.equal((await alerts('access.denied-burst')).length, 1, 'not counted again as a burst');
      assert.equal((await alerts('access.cross-tenant', 'rival')).length, 0, 'the other tenant’s trail does not name a stranger');
    });

    it('access.off-hours: staff reading at night in the tenant’s time zone raises one alert per night; a service key at night and staff in hours do not', async () => {
      await t.app.tenants.create('nightclinic');
      const nightKey = await t.key('nightclinic', 'service');
      await t.app.tenants.setMfaPolicy('nightclinic', 'optional');
      await t.app.alerts.saveSettings('nightclinic', { timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } }, { actor: { id: 'account:admin', role: 'tenant-admin', client: 'session' }, requestId: 'r-settings', sourceIp: '127.0.0.1' });
      const created = await t.inject({ method: 'POST', url: '/tenants/nightclinic/fhir/Patient', key: nightKey, body: patient() });
      const id = json(created)['id'] as string;
      await evaluate('nightclinic');
      // 18:30 UTC is 19:30 in Berlin: after hours there, though within them in UTC.
      now = Date.parse('2026-03-02T18:30:00Z');
      const owl = await signIn(t, 'nightclinic', 'front-desk', 'owl@nightclinic.example');
      for (let i = 0; i < 3; i += 1) assert.equal((await as(t, owl, { method: 'GET', url: `/tenants/nightclinic/fhir/Patient/${id}` })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/nightclinic/fhir/Patient/${id}`, key: nightKey })).statusCode, 200);
      await evaluate('nightclinic');
      // 06:30 UTC on Tuesday is 07:30 in Berlin: within hours.
      now = Date.parse('2026-03-03T06:30:00Z');
      const early = await signIn(t, 'nightclinic', 'front-desk', 'early@nightclinic.example');
      assert.equal((await as(t, early, { method: 'GET', url: `/tenants/nightclinic/fhir/Patient/${id}` })).statusCode, 200);
      await evaluate('nightclinic');
      const raised = await alerts('access.off-hours', 'nightclinic');
      assert.deepEqual(raised.map((a) => a.subject), [`account:${owl.accountId}`]);
      assert.equal(raised[0]?.severity, 'low');
      assert.equal(raised[0]?.count, 1, 'one per night, not one per read');
      assert.match(raised[0]?.summary ?? '', /first at 19:30 Europe\/Berlin \(off-hours beginning 2026-03-02\)/);
    });
  });
}
