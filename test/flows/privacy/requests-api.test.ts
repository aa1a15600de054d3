import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { rectificationTag } from '../../../src/privacy/index.js';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, type Person } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const tenant = 'clinic';
const base = `/tenants/${tenant}/privacy/requests`;
const jsonBody = { 'content-type': 'application/json' };
const publicUrl = 'https://vault.clinic.example';
const day = 86_400_000;
const secretWords = 'my neighbour is the clinic cleaner';

/**
 * Data subjects' requests over the API, on a real SMTP relay: a patient files theirs, staff with
 * `privacy:manage` record one received by letter (identity verification required), assign,
 * extend (the patient is mailed), reject with a reason (mailed, with the right to complain) and
 * accept a rectification (a tagged Patient version in `_history`). A patient never sees another's
 * request; a role without the capability gets 403, recorded. Audit events carry ids, never text.
 * Then the clock moves: the deadline job and its rule raise an alert past two thirds and overdue,
 * none before and none for a closed request.
 */
for (const engine of engines()) {
  describe(`privacy requests over the API [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let key: string;
    let desk: Person;
    let billing: Person;
    let anna: Person;
    let ben: Person;
    let annaId: string;
    let benId: string;
    const clock = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const now = () => clock.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(engine, { server: { publicUrl }, mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from: 'Tresor <tresor@clinic.example>', caFile: cert.certFile } } }, { clock });
      key = await t.tenant(tenant);
      annaId = String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id']);
      benId = String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient({ name: [{ family: 'Becker', given: ['Ben'] }] }) }))['id']);
      desk = await signInWithTotp(t, tenant, 'front-desk', 'desk@clinic.example', now);
      billing = await signInWithTotp(t, tenant, 'billing', 'billing@clinic.example', now);
      anna = await signIn(t, tenant, 'patient', 'anna@patients.example', { patient: `Patient/${annaId}` });
      ben = await signIn(t, tenant, 'patient', 'ben@patients.example', { patient: `Patient/${benId}` });
    });
    after(async () => {
      await t?.close();
      await relay?.stop();
      if (cert !== undefined) rmSync(cert.dir, { recursive: true, force: true });
    });

    let annasAccess: string;

    it('a patient files a request for themself: due one calendar month later, text sealed, the event names ids only', async () => {
      const filed = await call(anna, 'POST', base, { type: 'access', text: secretWords });
      assert.equal(filed.statusCode, 201, filed.body);
      const body = json(filed);
      annasAccess = body['id'];
      assert.equal(body['subject'], `Patient/${annaId}`);
      assert.equal(body['channel'], 'portal');
      assert.equal(body['state'], 'received');
      assert.equal(body['dueAt'], new Date(Date.parse(body['receivedAt']) + 31 * day).toISOString(), 'March has 31 days: due on the same day of April');
      const mine = json(await call(anna, 'GET', base))['requests'] as Array<{ id: string }>;
      assert.deepEqual(mine.map((r) => r.id), [annasAccess]);
      // Sealed at rest: the words are nowhere in the table.
      const db = await t.app.storage.tenant(tenant);
      const rows = await db.query<{ sealed: string }>(`SELECT sealed FROM ${db.table('privacy_requests')}`);
      assert.ok(rows.length === 1 && !JSON.stringify(rows).includes('neighbour'), 'the text is sealed');
      assert.equal(json(await call(anna, 'GET', `${base}/${annasAccess}`))['texts']['text'], secretWords);
    });

    it('another patient neither sees nor withdraws it (404, as for none); a patient cannot file for someone else', async () => {
      assert.equal((await call(ben, 'GET', `${base}/${annasAccess}`)).statusCode, 404);
      assert.equal(errorCode(await call(ben, 'POST', `${base}/${annasAccess}/withdraw`)), 'request-not-found');
      assert.deepEqual(json(await call(ben, 'GET', base))['requests'], []);
      assert.equal(errorCode(await call(ben, 'POST', base, { type: 'erasure', subject: `Patient/${annaId}` })), 'request-invalid');
      assert.equal((await call(ben, 'POST', `${base}/${annasAccess}/reject`, { reason: 'I do not like this request' })).statusCode, 403);
    });

    it('staff without privacy:manage get 403, recorded as access.denied', async () => {
      const denied = await call(billing, 'GET', base);
      assert.equal(denied.statusCode, 403);
      const events = await t.app.audit.query(tenant, { actions: ['access.denied'], count: 100 });
      assert.ok(events.some((e) => e.actor.role === 'billing'), 'the refusal is in the trail');
    });

    it('staff record a letter: identity verification is required; the queue is sorted by due date', async () => {
      assert.equal(errorCode(await call(desk, 'POST', base, { type: 'erasure', subject: `Patient/${benId}`, channel: 'letter' })), 'request-invalid');
      assert.equal(errorCode(await call(desk, 'POST', base, { type: 'erasure', subject: 'Patient/nobody', channel: 'letter', verification: 'ID card checked at the desk' })), 'request-invalid');
      assert.equal(errorCode(await call(desk, 'POST', base, { type: 'erasure', subject: `Patient/${benId}`, channel: 'letter', verification: 'ID card checked at the desk', receivedAt: '2099-01-01' })), 'request-invalid', 'not received in the future');
      const late = await call(desk, 'POST', base, { type: 'objection', subject: `Patient/${benId}`, channel: 'letter', verification: 'ID card checked at the desk', receivedAt: '2026-02-27' });
      assert.equal(json(late)['dueAt'], '2026-03-27T00:00:00.000Z', 'a letter that arrived on 27 February is due on 27 March');
      assert.equal((await call(desk, 'POST', `${base}/${json(late)['id']}/withdraw`)).statusCode, 200, 'staff record a withdrawal by letter');
      clock.advance(60_000);
      const recorded = await call(desk, 'POST', base, { type: 'erasure', subject: `Patient/${benId}`, channel: 'letter', verification: 'Signature compared with the admission form' });
      assert.equal(recorded.statusCode, 201, recorded.body);
      const queue = json(await call(desk, 'GET', `${base}?state=received`))['requests'] as Array<{ subject: string; dueAt: string }>;
      assert.deepEqual(queue.map((r) => r.subject), [`Patient/${annaId}`, `Patient/${benId}`]);
      assert.equal(errorCode(await call(desk, 'GET', `${base}?colour=red`)), 'request-invalid');
    });

    it('assign, extend once within the first month with a reason (the patient is mailed), reject with a reason (mailed with the right to complain)', async () => {
      const assigned = await call(desk, 'POST', `${base}/${annasAccess}/assign`, { owner: desk.accountId });
      assert.equal(json(assigned)['state'], 'in-progress', assigned.body);
      assert.equal(errorCode(await call(desk, 'POST', `${base}/${annasAccess}/assign`, { owner: billing.accountId })), 'request-invalid', 'billing does not handle requests');
      assert.equal(errorCode(await call(desk, 'POST', `${base}/${annasAccess}/extend`, { months: 3, reason: 'Archive records must be fetched' })), 'request-invalid');
      assert.equal(errorCode(await call(desk, 'POST', `${base}/${annasAccess}/extend`, { months: 2 })), 'request-invalid');
      const before = json(await call(desk, 'GET', `${base}/${annasAccess}`));
      const extended = await call(desk, 'POST', `${base}/${annasAccess}/extend`, { months: 2, reason: 'Archive records must be fetched from storage' });
      assert.equal(extended.statusCode, 200, extended.body);
      assert.equal(Date.parse(json(extended)['dueAt']), Date.parse(before['dueAt']) + (30 + 31) * day, 'April → June, two calendar months');
      assert.equal(errorCode(await call(desk, 'POST', `${base}/${annasAccess}/extend`, { months: 1, reason: 'Still more archive records' })), 'request-extension-refused');
      const [mail] = await relay.waitFor(1);
      assert.equal(mail?.to, 'anna@patients.example');
      assert.match(mail?.text ?? '', /verlängert/);
      assert.match(mail?.text ?? '', /extended to/);
      assert.ok(mail?.text.includes(`${publicUrl}/tenants/${tenant}/me/requests`), 'links to the portal');
      assert.ok(!mail?.text.includes('Archive'), 'the reason stays in the portal');

      assert.equal(errorCode(await call(desk, 'POST', `${base}/${annasAccess}/reject`, { reason: 'no' })), 'request-invalid', 'a reason says something');
      const rejected = await call(desk, 'POST', `${base}/${annasAccess}/reject`, { reason: 'The same request was answered last week' });
      assert.equal(json(rejected)['state'], 'rejected', rejected.body);
      const mails = await relay.waitFor(2);
      assert.match(mails[1]?.text ?? '', /Art\. 77/);
      assert.ok(!mails[1]?.text.includes('last week'));
      assert.equal(errorCode(await call(anna, 'POST', `${base}/${annasAccess}/withdraw`)), 'request-state-conflict', 'a closed request stays closed');
      const seen = json(await call(anna, 'GET', `${base}/${annasAccess}`));
      assert.equal(seen['texts']['outcome'], 'The same request was answered last week', 'the patient reads the reason');
      assert.deepEqual((seen['history'] as Array<{ action: string }>).map((h) => h.action), ['privacy.request_received', 'privacy.request_assigned', 'privacy.request_extended', 'privacy.request_rejected']);
    });

    it('a rectification proposed by the patient, accepted by the front desk: a tagged version in _history, the patient told', async () => {
      const proposed = await call(anna, 'POST', base, { type: 'rectification', changes: { name: [{ family: 'Schmidt', given: ['Anna'] }], birthDate: '1980-02-04' } });
      assert.equal(proposed.statusCode, 201, proposed.body);
      const id = json(proposed)['id'];
      assert.equal(errorCode(await call(anna, 'POST', base, { type: 'rectification', changes: { identifier: [{ value: 'x' }] } })), 'request-invalid');
      const accepted = await call(desk, 'POST', `${base}/${id}/complete`, { accept: true, note: 'Corrected as on your ID card' });
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.equal(json(accepted)['state'], 'completed');
      const history = json(await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${annaId}/_history`, key }));
      const newest = history['entry'][0]['resource'];
      assert.equal(newest['name'][0]['family'], 'Schmidt');
      assert.equal(newest['birthDate'], '1980-02-04');
      assert.ok((newest['meta']['tag'] as Array<{ system: string; code: string }>).some((tag) => tag.system === rectificationTag.system && tag.code === rectificationTag.code), 'tagged as a rectification');
      const mails = await relay.waitFor(3);
      assert.match(mails[2]?.subject ?? '', /accepted/);
      assert.ok(!mails[2]?.text.includes('Schmidt'), 'no record contents in the mail');
    });

    it('every change is an audit event with the patient as subject and no free text', async () => {
      const events = (await t.app.audit.query(tenant, { count: 1000 })).filter((e) => e.action.startsWith('privacy.request_'));
      const actions = new Set(events.map((e) => e.action));
      for (const action of ['privacy.request_received', 'privacy.request_assigned', 'privacy.request_extended', 'privacy.request_rejected', 'privacy.request_completed', 'privacy.request_read']) assert.ok(actions.has(action as never), action);
      assert.ok(events.filter((e) => e.action !== 'privacy.request_read').every((e) => e.subjects.length === 1 && e.subjects[0]?.startsWith('Patient/')));
      const dump = JSON.stringify(events);
      for (const words of ['neighbour', 'Archive', 'last week', 'Signature', 'Schmidt']) assert.ok(!dump.includes(words), `no "${words}" in the trail`);
    });

    it('the deadline: nothing before two thirds, an alert past it and once overdue, none for a closed request; erasure clears the texts', { timeout: 120_000 }, async () => {
      const system = { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, role: 'system' as const, requestId: '', sourceIp: 'local' };
      const open = await t.app.privacyRequests.open(tenant, system, { type: 'objection', subject: `Patient/${benId}`, channel: 'email', verification: 'Replied from the address on file', text: 'Stop the newsletter' });
      const closed = await t.app.privacyRequests.open(tenant, system, { type: 'access', subject: `Patient/${benId}`, channel: 'in-person', verification: 'ID card checked at the desk' });
      await t.app.privacyRequests.complete(tenant, closed.id, { by: system, note: 'Handed over a printed copy' });
      const alerts = async () => {
        await t.app.privacyRequests.checkDeadlines();
        await t.app.detection?.evaluate(tenant);
        return (await t.app.alerts.list(tenant, { rule: 'privacy.request-due' })).map((a) => a.subject);
      };
      clock.advance(open.dueAt - open.receivedAt - 12 * day);
      assert.deepEqual((await alerts()).filter((s) => s.includes(open.id)), [], 'nothing at 19 of 31 days');
      clock.advance(3 * day);
      assert.deepEqual((await alerts()).filter((s) => s.includes(open.id)), [`privacy-request:${open.id}/two-thirds`]);
      clock.advance(10 * day);
      assert.deepEqual((await alerts()).filter((s) => s.includes(open.id)).sort(), [`privacy-request:${open.id}/overdue`, `privacy-request:${open.id}/two-thirds`]);
      assert.ok((await alerts()).every((s) => !s.includes(closed.id)), 'a completed request raises nothing');
      assert.ok((await t.app.alerts.list(tenant, { rule: 'privacy.request-due' })).every((a) => !JSON.stringify(a).includes('newsletter')));

      assert.equal(await t.app.privacyRequests.eraseOf(tenant, `Patient/${benId}`), 4, 'every request of Ben’s: the letter, the withdrawn one, the objection, the completed one');
      const after = await t.app.privacyRequests.get(tenant, system, open.id);
      assert.equal(after.texts, undefined, 'the text is gone');
      assert.equal(after.type, 'objection', 'id, type, dates and state remain');
    });
  });
}
