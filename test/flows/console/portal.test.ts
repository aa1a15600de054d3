import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation } from '../../support/harness.js';
import { authorize, discover, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { portalWorld, signIn, staffWithTotp, type PortalWorld, type Session } from './portal-support.js';

type Json = Record<string, any>;

/**
 * The patient portal and "who accessed my data": a patient reaches their own records and their
 * own access log — over the pages, over FHIR's `$access-log` with their session and with an
 * app's token — and never another patient's; staff are sent to the console; every portal read
 * is in the audit trail as the same read over FHIR would be.
 */
for (const engine of engines()) {
  describe(`patient portal (${engine})`, () => {
    let t: OAuthTestApp;
    let w: PortalWorld;
    let alice: Session;
    let bob: Session;

    before(async () => {
      t = await startOAuthApp(engine);
      w = await portalWorld(t);
      alice = await signIn(t, 'clinic', 'alice@example.org');
      bob = await signIn(t, 'clinic', 'bob@example.org');
    });
    after(async () => t.close());

    const page = (url: string, session?: Session) => t.inject({ method: 'GET', url, headers: session === undefined ? {} : { cookie: session.cookie } });
    const accessLog = (patientId: string, session: Session, query = '') => t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${patientId}/$access-log${query}`, headers: { cookie: session.cookie } });
    const auditTrail = async (): Promise<Json[]> => (await t.app.audit.query('clinic', { count: 1000 })) as unknown as Json[];

    it('$access-log answers the patient for their own Patient: who by role and name, what, why — and nothing internal', async () => {
      const response = await accessLog(w.alice, alice);
      assert.equal(response.statusCode, 200, response.body);
      const events = (json(response)['entry'] as Json[]).map((e) => e['resource'] as Json);
      const clinicianRead = events.find((e) => e['agent'][0]['who']['display'] === 'Dr. Erika Mustermann');
      assert.ok(clinicianRead !== undefined, 'the clinician’s read is listed by their Practitioner name');
      assert.equal(clinicianRead['agent'][0]['role'][0]['text'], 'clinician');
      assert.equal(clinicianRead['subtype'].at(-1).code, 'record.read');
      assert.match(JSON.stringify(clinicianRead['entity']), /Observation\//);
      assert.equal(clinicianRead['purposeOfEvent'][0]['coding'][0]['code'], 'TREAT');
      const text = JSON.stringify(events);
      assert.doesNotMatch(text, /account:|urn:tresor:principal|"network"|127\.0\.0\.1|request-id/, 'no internal account ids, request ids or network addresses');
      assert.ok(!text.includes(w.bob), 'nothing of another patient');
      // A second look lists the first: reading the log is itself an access, and the patient's own is "you".
      const again = (json(await accessLog(w.alice, alice))['entry'] as Json[]).map((e) => e['resource'] as Json);
      assert.equal(again[0]?.['subtype'].at(-1).code, 'audit.read');
      assert.equal(again[0]?.['agent'][0]['who']['display'], 'you');
    });

    it('never answers a patient for another patient’s log, nor staff without the audit right; the auditor keeps the full view', async () => {
      const other = await accessLog(w.bob, alice);
      assert.equal(other.statusCode, 403);
      assert.equal(errorCode(other), 'outside-compartment');
      const clinician = await accessLog(w.alice, w.clinician);
      assert.equal(clinician.statusCode, 403, 'a clinician has no audit:read');
      const auditor = await accessLog(w.alice, w.auditor);
      assert.equal(auditor.statusCode, 200);
      const first = json(auditor)['entry'][0]['resource'] as Json;
      assert.match(first['agent'][0]['who']['identifier']['value'], /^account:/, 'the auditor sees principal ids, as before');
    });

    it('records a refused look at another patient’s log as a denied access of the patient', async () => {
      await accessLog(w.bob, alice);
      const denied = (await auditTrail()).find((e) => e['action'] === 'access.denied' && e['actor']['role'] === 'patient');
      assert.ok(denied !== undefined, 'the refusal is in the audit trail');
    });

    it('serves $access-log to an app with the patient’s scope to read their Patient, and refuses an app without it', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid launch/patient patient/Patient.r patient/Observation.rs' });
      const config = await discover(t, 'clinic', client.clientId, clientSecret);
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Patient.r' });
      const withScope = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${w.alice}/$access-log`, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(withScope.statusCode, 200, withScope.body);
      const viaApp = json(await accessLog(w.alice, alice))['entry'].map((e: Json) => e['resource']).find((e: Json) => e['agent'][0]['name'] === 'Step Counter');
      assert.ok(viaApp !== undefined, 'the app’s read is listed with the app’s name');
      assert.equal(viaApp['agent'][0]['who']['display'], 'you');
      const otherPatient = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${w.bob}/$access-log`, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(otherPatient.statusCode, 403);
      const narrow = await authorize(t, config, { tenantId: 'clinic', email: 'alice@example.org', scope: 'openid patient/Observation.rs' });
      const without = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${w.alice}/$access-log`, headers: { authorization: `Bearer ${narrow.tokens.access_token}` } });
      assert.equal(without.statusCode, 403, 'no scope to read the Patient, no access log');
    });

    it('shows the patient their records: details, weights as a chart with unit and dates plus a table, appointments, consents', async () => {
      const before = (await auditTrail()).length;
      const response = await page('/tenants/clinic/me/', alice);
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      const body = response.body;
      assert.match(body, /<h1>My records<\/h1>/);
      assert.match(body, /Alice Schmidt/);
      assert.match(body, /<svg[^>]*role="img"/);
      assert.match(body, /Body weight \(kg\)/);
      assert.match(body, /<th scope="col" class="num">Value \(kg\)<\/th>/);
      assert.match(body, /78\.6/);
      assert.doesNotMatch(body, /81\.4/, 'the default range (a year) leaves the older weight out');
      assert.match(body, /Check-up/);
      assert.match(body, /Share my weight with my GP/);
      assert.match(body, /Export my data \/ Erase my data/);
      assert.doesNotMatch(body, /<form[^>]*(export|erase)/i, 'no fake buttons');
      assert.ok(!body.includes('Becker') && !body.includes('B987654321'), 'nothing of Bob');
      assert.match(body, /href="\/tenants\/clinic\/account\/apps"/);
      assert.match(body, /href="\/tenants\/clinic\/account\/"/);
      const all = await page('/tenants/clinic/me/?range=all', alice);
      assert.match(all.body, /81\.4/, 'all: every weight');
      const month = await page('/tenants/clinic/me/?range=30d', alice);
      assert.doesNotMatch(month.body, /80\.2/, 'the last 30 days leave the 90-day-old weight out');

      // Every read of the page is in the audit trail, as the same reads over FHIR: by Alice, in her session, for her own request.
      const events = (await auditTrail()).slice(0, (await auditTrail()).length - before);
      const aliceEvents = events.filter((e) => e['actor']['role'] === 'patient' && e['actor']['client'] === 'session');
      const actions = aliceEvents.map((e) => `${e['action']} ${String(e['resources'][0] ?? '').split('/')[0]}`);
      for (const expected of ['record.read Patient', 'record.searched Observation', 'record.searched Appointment', 'record.searched Consent']) {
        assert.ok(actions.includes(expected), `${expected} is audited (have ${actions.join(', ')})`);
      }
      assert.ok(aliceEvents.every((e) => e['purpose'] === 'PATRQT' && e['subjects'].every((s: string) => s === `Patient/${w.alice}`)), 'her own records only, for her own request');
    });

    it('shows Bob only Bob’s records, and who accessed them', async () => {
      const records = await page('/tenants/clinic/me/', bob);
      assert.equal(records.statusCode, 200);
      assert.match(records.body, /Bob Becker/);
      assert.ok(!records.body.includes('Schmidt') && !records.body.includes('Body weight'), 'nothing of Alice');
      const log = await page('/tenants/clinic/me/access?period=all', bob);
      assert.equal(log.statusCode, 200);
      assert.ok(!log.body.includes('Erika Mustermann'), 'the clinician read Alice’s records, not Bob’s');
    });

    it('lists who accessed my data: the clinician by name and role a moment ago, my own reads as “You”, newest first, paged', async () => {
      const response = await page('/tenants/clinic/me/access', alice);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.body;
      assert.match(body, /<h1>Who accessed my data<\/h1>/);
      assert.match(body, /Dr\. Erika Mustermann <span class="role">\(Clinician\)<\/span>/);
      assert.match(body, /<tr class="you"><th scope="row">/);
      assert.match(body, /opened: measurements and results/);
      assert.doesNotMatch(body, /account:|127\.0\.0\.1/);
      const german = await page('/tenants/clinic/me/access?lang=de', alice);
      assert.match(german.body, /<h1>Wer hat meine Daten gesehen<\/h1>/);
      assert.match(german.body, /Dr\. Erika Mustermann <span class="role">\(Ärztin\/Arzt\)<\/span>/);
      // Paging: older entries follow the newest 50.
      for (let i = 0; i < 50; i++) await page('/tenants/clinic/me/access', alice);
      const first = await page('/tenants/clinic/me/access?period=all', alice);
      const older = /href="([^"]+before=\d+)"/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(older !== undefined, 'a link to older entries');
      const second = await page(older, alice);
      assert.equal(second.statusCode, 200);
      assert.match(second.body, /Dr\. Erika Mustermann/, 'the clinician’s read is now on the second page');
    });

    it('shows a break-the-glass access with its stated reason, on the page and in $access-log', async () => {
      const stranger = await staffWithTotp(t, 'clinic', 'clinician', 'night@example.org');
      const reason = 'Unconscious in the emergency room, allergies unknown';
      const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${w.alice}`, headers: { cookie: stranger.cookie, 'x-break-glass-reason': reason } });
      assert.equal(read.statusCode, 200, read.body);
      const events = json(await accessLog(w.alice, alice))['entry'].map((e: Json) => e['resource']);
      const grant = events.find((e: Json) => e['subtype'].at(-1).code === 'access.emergency_granted');
      assert.equal(grant?.['outcomeDesc'], reason);
      assert.equal(grant?.['agent'][0]['who']['display'], 'night@example.org', 'without a Practitioner record, the account’s e-mail names them');
      const body = (await page('/tenants/clinic/me/access', alice)).body;
      assert.match(body, /Emergency access<\/strong><br>Stated reason: “Unconscious in the emergency room, allergies unknown”/);
      assert.match(body, /Emergency treatment/);
    });

    it('keeps a long history fast: the newest 500 of the range, and says so', async () => {
      // Bob's device sends a heart rate every hour: 600 of them in one batch.
      const now = Date.now();
      const entry = Array.from({ length: 600 }, (_, i) => ({
        resource: observation(w.bob, { effectiveDateTime: new Date(now - (i + 2) * 3_600_000).toISOString(), valueQuantity: { value: 60 + (i % 20), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' } }),
        request: { method: 'POST', url: 'Observation' },
      }));
      const batch = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/', key: w.key, body: { resourceType: 'Bundle', type: 'batch', entry } });
      assert.equal(batch.statusCode, 200, batch.body.slice(0, 300));
      const body = (await page('/tenants/clinic/me/?range=30d', bob)).body;
      assert.match(body, /the charts show the latest 500/);
      assert.match(body, /Heart rate \(beats\/minute\): [^<]*, 500 × /, 'the chart of the newest 500');
      const search = (await t.app.audit.query('clinic', { count: 10, actions: ['record.searched'] })).find((e) => e.actor.role === 'patient' && e.resources[0]?.startsWith('Observation/'));
      assert.equal(search?.resources.length, 500, 'the search disclosed (and audited) 500 measurements, not 601');
    });

    it('sends staff to the console and people who are not signed in to sign in', async () => {
      const staff = await page('/tenants/clinic/me/', w.clinician);
      assert.equal(staff.statusCode, 303);
      assert.equal(staff.headers.location, '/tenants/clinic/console/');
      const staffLog = await page('/tenants/clinic/me/access', w.auditor);
      assert.equal(staffLog.statusCode, 303);
      assert.equal(staffLog.headers.location, '/tenants/clinic/console/');
      const nobody = await page('/tenants/clinic/me/access');
      assert.equal(nobody.statusCode, 303);
      assert.equal(nobody.headers.location, `/tenants/clinic/account/sign-in?next=${encodeURIComponent('/tenants/clinic/me/access')}`);
      const bearer = await t.inject({ method: 'GET', url: '/tenants/clinic/me/', headers: { authorization: `Bearer ${w.key}` } });
      assert.equal(bearer.statusCode, 400, 'pages take no bearer credential');
    });
  });
}
