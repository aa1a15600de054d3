import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, testPassword } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const skip = smtpSkipReason();

/**
 * Erasure through the API (GDPR Art. 17): what stands in the way (the medical-records duty with its
 * end date, a legal hold with its reason), then the erasure itself — records 410, the account
 * gone, the confirmation at a real SMTP server without contents, an erasure record without name
 * or address — and the subject still erased after a restore of an older snapshot.
 */
for (const engine of engines()) {
  describe(`erasure through the API [${engine}]`, { skip }, () => {
    let t: TestApp;
    let relay: SmtpRelay;
    let cert: TestCertificate;
    let repository: string;
    let service: string;
    let admin: string;
    const base = fixedClock(new Date('2026-06-01T08:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const ids: Record<string, string> = {};
    const email = 'vera.vergessen@example.org';

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      repository = mkdtempSync(join(tmpdir(), 'tresor-erasure-repo-'));
      t = await startTestApp(
        engine,
        { backup: { repository, key: generateBackupKey(), schedule: false }, retention: { job: { enabled: false } }, mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from: 'clinic@tresor.example', caFile: cert.certFile } } },
        { clock },
      );
      service = await t.tenant('clinic', 'service');
      admin = await t.key('clinic', 'tenant-admin');
      const create = async (body: unknown) => {
        const r = await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${(body as { resourceType: string }).resourceType}`, key: service, body });
        assert.equal(r.statusCode, 201, r.body);
        return json(r)['id'] as string;
      };
      ids['vera'] = await create(patient({ name: [{ family: 'Vergessen', given: ['Vera'] }] }));
      ids['bert'] = await create(patient({ name: [{ family: 'Bleibt', given: ['Bert'] }] }));
      ids['obs'] = await create(observation(ids['vera'] as string, { effectiveDateTime: '2026-05-20T10:00:00Z', valueQuantity: { value: 73, unit: 'beats/minute' } }));
      ids['consent'] = await create({ resourceType: 'Consent', status: 'active', scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] }, category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }], patient: { reference: `Patient/${ids['vera']}` } });
      ids['bertObs'] = await create(observation(ids['bert'] as string));
    });
    after(async () => {
      await t?.close();
      await relay?.stop();
      rmSync(repository, { recursive: true, force: true });
      rmSync(cert.dir, { recursive: true, force: true });
    });

    const post = (url: string, body: unknown, key = admin) => t.inject({ method: 'POST', url, key, body, headers: { 'content-type': 'application/json' } });

    it('only privacy:erase reaches it; the refusal is audited', async () => {
      const denied = await post(`/tenants/clinic/privacy/erasure/${ids['vera']}`, { reason: 'asked by letter' }, service);
      assert.equal(denied.statusCode, 403, denied.body);
      const check = await t.inject({ method: 'GET', url: `/tenants/clinic/privacy/erasure/${ids['vera']}/check`, key: service });
      assert.equal(check.statusCode, 403);
      const trail = await t.app.audit.query('clinic', { count: 10, actions: ['access.denied'] });
      assert.ok(trail.some((e) => e.detail === 'privacy:erase'));
    });

    it('the medical-records duty stops it with its end date (10 years after the last treatment)', async () => {
      const check = await t.inject({ method: 'GET', url: `/tenants/clinic/privacy/erasure/${ids['vera']}/check`, key: admin });
      assert.equal(check.statusCode, 200, check.body);
      const found = json(check);
      assert.equal(found['erasable'], false);
      assert.equal(found['duty']['lastTreatment'], '2026-05-20T10:00:00.000Z', 'the Observation’s effective date');
      assert.equal(found['duty']['endsAt'], '2036-05-20T10:00:00.000Z');
      const refused = await post(`/tenants/clinic/privacy/erasure/${ids['vera']}`, { reason: 'asked by letter' });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(errorCode(refused), 'erasure-retention');
      assert.match(json(refused)['title'], /until 2036-05-20/);
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['vera']}`, key: service })).statusCode, 200, 'nothing erased');
    });

    it('a legal hold stops it with its reason; released, it no longer does', async () => {
      const settings = await t.inject({ method: 'PUT', url: '/tenants/clinic/privacy/retention', key: admin, body: { medicalRecords: null }, headers: { 'content-type': 'application/json' } });
      assert.equal(settings.statusCode, 200, settings.body);
      assert.equal(json(settings)['medicalRecordsYears'], null);
      const set = await post('/tenants/clinic/privacy/holds', { subject: `Patient/${ids['vera']}`, reason: 'court case 4 O 17/26' });
      assert.equal(set.statusCode, 201, set.body);
      const hold = json(set)['hold'];
      const refused = await post(`/tenants/clinic/privacy/erasure/${ids['vera']}`, { reason: 'asked by letter' });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(errorCode(refused), 'erasure-held');
      assert.match(json(refused)['title'], /court case 4 O 17\/26/);
      const released = await post(`/tenants/clinic/privacy/holds/${hold.id}/release`, { reason: 'case closed' });
      assert.equal(released.statusCode, 200, released.body);
      assert.equal(json(await t.inject({ method: 'GET', url: `/tenants/clinic/privacy/erasure/${ids['vera']}/check`, key: admin }))['erasable'], true);
      const unknown = await post('/tenants/clinic/privacy/erasure/no-such-patient', { reason: 'a typo' });
      assert.equal(unknown.statusCode, 404, unknown.body);
      assert.equal(errorCode(unknown), 'subject-not-found');
      const trail = (await t.app.audit.query('clinic', { count: 50 })).map((e) => e.action);
      for (const action of ['privacy.hold_set', 'privacy.hold_released', 'privacy.erasure_refused', 'retention.settings_changed']) assert.ok(trail.includes(action as never), action);
    });

    let snapshot = '';
    it('erases: records 410, the account gone, apps and Consents with it, a confirmation without contents, a record without name or address', async () => {
      const vera = await signIn(t, 'clinic', 'patient', email, { patient: `Patient/${ids['vera']}` });
      assert.equal((await as(t, vera, { method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['vera']}` })).statusCode, 200);
      snapshot = (await t.app.backups.run()).manifest.id;
      const before = relay.received().length;

      const erased = await post(`/tenants/clinic/privacy/erasure/${ids['vera']}`, { reason: 'Art. 17(1)(a): asked by letter, identity checked at the desk', requestId: 'req-1' });
      assert.equal(erased.statusCode, 200, erased.body);
      const record = json(erased)['erasure'];
      assert.equal(record.subject, `Patient/${ids['vera']}`);
      assert.equal(record.requestId, 'req-1');
      assert.ok(record.counts.keyVersions >= 1);
      assert.equal(record.counts.records, 3, 'Patient, Observation, Consent');
      assert.equal(record.counts.consents, 1, 'the FHIR Consent went with the key');
      assert.equal(record.counts.accounts, 1);
      assert.equal(record.tombstone, 'recorded');
      assert.equal(record.confirmation, 'sent');

      for (const [type, id] of [['Patient', ids['vera']], ['Observation', ids['obs']], ['Consent', ids['consent']]]) {
        const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${type}/${id}`, key: service });
        assert.equal(read.statusCode, 410, `${type} ${read.body}`);
      }
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['bert']}`, key: service })).statusCode, 200, 'others untouched');
      assert.equal((await as(t, vera, { method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['vera']}` })).statusCode, 401, 'the session ended with the account');
      const login = await t.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: testPassword }) });
      assert.equal(login.statusCode, 401, 'the account cannot sign in');

      const mail = (await relay.waitFor(before + 1)).slice(before).find((m) => m.to.includes(email));
      assert.ok(mail !== undefined, 'the confirmation reached the relay');
      assert.match(mail.text, /erased on 2026-06-01/);
      for (const secret of ['Vergessen', 'Vera', '73', 'beats', ids['vera'] as string]) assert.ok(!mail.text.includes(secret) && !(mail.html ?? '').includes(secret), `no ${secret} in the mail`);

      const listed = await t.inject({ method: 'GET', url: '/tenants/clinic/privacy/erasures', key: admin });
      assert.equal(listed.statusCode, 200);
      const text = listed.body;
      assert.ok(text.includes(`Patient/${ids['vera']}`));
      for (const secret of ['Vergessen', email, 'vera.vergessen']) assert.ok(!text.includes(secret), `no ${secret} in the erasure record`);

      const events = await t.app.audit.query('clinic', { count: 5, actions: ['privacy.erased'] });
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]?.subjects, [`Patient/${ids['vera']}`]);
      assert.equal(events[0]?.purpose, 'PATRQT');
      assert.ok(!JSON.stringify(events).includes(email));
    });

    it('after a restore of an older snapshot the subject stays erased', async () => {
      await t.app.backups.restoreTenant(snapshot, 'clinic', { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
      const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['vera']}`, key: service });
      assert.equal(read.statusCode, 410, read.body);
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${ids['obs']}`, key: service })).statusCode, 410);
      const found = json(await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?name=Vergessen', key: service }));
      assert.equal((found['entry'] ?? []).length, 0, 'not in the search index either');
      assert.equal((await t.app.accounts.list('clinic')).filter((a) => a.patient === `Patient/${ids['vera']}`).length, 0, 'the account did not come back');
      const records = json(await t.inject({ method: 'GET', url: '/tenants/clinic/privacy/erasures', key: admin }))['erasures'] as Array<{ subject: string; source: string }>;
      assert.deepEqual(records.map((r) => [r.subject, r.source]), [[`Patient/${ids['vera']}`, 'restore']], 'the snapshot predates the erasure record: it is recorded again');
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${ids['bert']}`, key: service })).statusCode, 200);
    });
  });
}
