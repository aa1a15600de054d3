import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, type Person } from '../../support/people.js';
import { pdfPages } from '../../support/pdf-text.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';
import { writtenFreeText } from './free-text.js';

const day = 86_400_000;
const start = Date.parse('2026-03-02T08:00:00Z');
const from = 'Tresor <tresor@clinic.example>';

const person = (given: string, family: string, extra: Record<string, unknown>) => patient({ name: [{ use: 'official', given: [given], family }], ...extra });

/**
 * Breach notices end to end: a key reads four patients of a clinic (one English with e-mail and
 * a measurement, one German with e-mail, one with only a postal address, one whose key is later
 * destroyed); the scope is frozen; drafts are generated; sending before approval is refused, the
 * editor cannot approve their own draft (four eyes), an edit withdraws the approval; the send
 * through a real SMTP relay gives each person with e-mail their own letter in their language,
 * puts the one without e-mail in the print batch PDF, counts the erased one unreachable, and
 * sending again sends nothing new. The tenant admin reads the customer notice, not the letters.
 */
for (const engine of engines()) {
  describe(`breach notice drafts and delivery [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let now = start - day;
    const clock = { now: () => new Date((now += 1)) };
    let drafter: Person;
    let approver: Person;
    let admin: Person;
    let incidentId = '';
    const ids: Record<string, string> = {};
    let drafts: Array<{ id: string; kind: string; state: string }> = [];
    const call = (who: Person, method: string, url: string, payload?: unknown) => as(t, who, { method, url, ...(payload === undefined ? {} : { body: payload, headers: { 'content-type': 'application/json' } }) });
    const draftOf = (kind: string) => drafts.find((d) => d.kind === kind) as { id: string };
    const base = () => `/platform/incidents/${incidentId}/drafts`;

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(engine, { identity: { sessionIdleMinutes: 24 * 60 }, mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } } }, { clock });
      const writer = await t.tenant('north');
      const reader = await t.app.apiKeys.create({ tenantId: 'north', role: 'service-reader' });
      const people: Record<string, unknown> = {
        anna: person('Anna', 'Smith', { telecom: [{ system: 'email', value: 'anna@example.org' }], address: [{ line: ['1 Main Street'], city: 'Sacramento', state: 'CA', country: 'US' }], communication: [{ language: { coding: [{ code: 'en' }] } }] }),
        joerg: person('Jörg', 'Größe', { telecom: [{ system: 'email', value: 'joerg@example.org' }], address: [{ line: ['Heidestraße 1'], postalCode: '8001', city: 'Zürich', country: 'CH' }], communication: [{ language: { coding: [{ code: 'de' }] } }] }),
        bea: person('Bea', 'Brief', { address: [{ line: ['Postweg 7'], postalCode: '10115', city: 'Berlin', country: 'DE' }], communication: [{ language: { coding: [{ code: 'de' }] } }] }),
        erik: person('Erik', 'Erased', { telecom: [{ system: 'email', value: 'erik@example.org' }] }),
      };
      for (const [name, resource] of Object.entries(people)) {
        const created = await t.inject({ method: 'POST', url: '/tenants/north/fhir/Patient', key: writer, body: resource });
        assert.equal(created.statusCode, 201, created.body);
        ids[name] = String(json(created)['id']);
      }
      const obs = await t.inject({ method: 'POST', url: '/tenants/north/fhir/Observation', key: writer, body: observation(ids['anna'] as string) });
      assert.equal(obs.statusCode, 201, obs.body);
      now = start;
      for (const name of Object.keys(people)) assert.equal((await t.inject({ method: 'GET', url: `/tenants/north/fhir/Patient/${ids[name] as string}`, key: reader.key })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/north/fhir/Observation/${String(json(obs)['id'])}`, key: reader.key })).statusCode, 200);
      now = start + 2 * day;
      assert.ok((await t.app.keys.shred('north', `Patient/${ids['erik'] as string}`)) >= 1);
      drafter = await signInOperator(t, 'operator', 'drafter@hosting.example', () => now);
      approver = await signInOperator(t, 'operator', 'approver@hosting.example', () => now);
      admin = await signInWithTotp(t, 'north', 'tenant-admin', 'admin@north.example', () => now);
      const settings = await call(admin, 'PUT', '/tenants/north/alerts/settings', { timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' }, securityContact: 'security@north.example' });
      assert.equal(settings.statusCode, 200, settings.body);
      const opened = await call(drafter, 'POST', '/platform/incidents', { title: 'Integration key leaked', severity: 'high', tenants: ['north'] });
      assert.equal(opened.statusCode, 201, opened.body);
      incidentId = String(json(opened)['id']);
      const frozen = await call(drafter, 'POST', `/platform/incidents/${incidentId}/scopes`, { from: new Date(start - 1000).toISOString(), to: new Date(start + day).toISOString(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['north'] });
      assert.equal(frozen.statusCode, 201, frozen.body);
      const generated = await call(drafter, 'POST', base(), { scopeId: json(frozen).id });
      assert.equal(generated.statusCode, 201, generated.body);
      drafts = json(generated).drafts;
    });
    after(async () => {
      await t.close();
      await relay.stop();
    });

    it('generates a letter draft, a customer notice and an authority report for the tenant; none carries a name or address', async () => {
      assert.deepEqual(drafts.map((d) => d.kind).sort(), ['authority', 'customer', 'individual']);
      assert.ok(drafts.every((d) => d.state === 'draft'));
      const stored = JSON.stringify(await t.app.storage.platform.query(`SELECT * FROM ${t.app.storage.platform.table('notice_drafts')}`));
      for (const word of ['Anna', 'Jörg', 'Heidestraße', 'example.org', ids['anna'] as string]) assert.ok(!stored.includes(word), `no ${word} in the drafts table`);
    });

    it('refuses to send before approval, and the editor’s own approval (four eyes)', async () => {
      const early = await call(drafter, 'POST', `${base()}/${draftOf('individual').id}/send`);
      assert.equal(early.statusCode, 409);
      assert.match(String(early.headers['content-type']), /application\/problem\+json/);
      assert.equal(errorCode(early), 'notice-not-approved');
      const own = await call(drafter, 'POST', `${base()}/${draftOf('individual').id}/approve`);
      assert.equal(own.statusCode, 403);
      assert.equal(errorCode(own), 'notice-four-eyes');
      // Still holding the draft's reminders ("[Please describe …]"): no one approves it yet.
      const unfinished = await call(approver, 'POST', `${base()}/${draftOf('individual').id}/approve`);
      assert.equal(unfinished.statusCode, 409);
      assert.equal(errorCode(unfinished), 'notice-unfinished');
      assert.match(unfinished.body, /de\.whatHappened, de\.measures, de\.consequences, en\.whatHappened, en\.measures, en\.consequences still hold/);
      for (const kind of ['individual', 'customer', 'authority']) assert.equal((await call(drafter, 'PATCH', `${base()}/${draftOf(kind).id}`, writtenFreeText)).statusCode, 200);
      const approved = await call(approver, 'POST', `${base()}/${draftOf('individual').id}/approve`);
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(json(approved).state, 'approved');
      // An edit after approval returns it to draft; the other person approves again.
      const edited = await call(drafter, 'PATCH', `${base()}/${draftOf('individual').id}`, { en: { measures: 'We revoked the key on 4 March.' }, de: { measures: 'Wir haben den Schlüssel am 4. März gesperrt.' } });
      assert.equal(edited.statusCode, 200, edited.body);
      assert.deepEqual([json(edited).state, json(edited).approvedBy], ['draft', null]);
      assert.equal(errorCode(await call(drafter, 'PATCH', `${base()}/${draftOf('individual').id}`, { fr: { measures: 'x' } })), 'notice-invalid');
      assert.equal(errorCode(await call(drafter, 'PATCH', `${base()}/${draftOf('individual').id}`, {})), 'notice-invalid', 'an empty edit changes nothing');
      assert.equal((await call(approver, 'POST', `${base()}/${draftOf('individual').id}/approve`)).statusCode, 200);
    });

    it('mails each person with e-mail their own letter in their language; batches the one without; counts the erased one', { timeout: 60_000 }, async () => {
      const sent = await call(approver, 'POST', `${base()}/${draftOf('individual').id}/send`);
      assert.equal(sent.statusCode, 200, sent.body);
      assert.deepEqual(json(sent).tally, { email: 2, failed: 0, post: 1, unreachable: 1, filed: 0, skipped: 0 });
      await t.app.mail?.settled();
      const mails = await relay.waitFor(2);
      const anna = mails.find((m) => m.rcptTos[0] === 'anna@example.org');
      const joerg = mails.find((m) => m.rcptTos[0] === 'joerg@example.org');
      assert.ok(anna && joerg, 'one letter each');
      assert.match(anna.text, /^Dear Anna Smith,/m);
      assert.match(anna.text, /health information such as measurements/);
      assert.match(anna.text, /We revoked the key on 4 March\./);
      assert.ok(!anna.text.includes('Jörg') && !anna.text.includes('Bea'), 'her letter names only her');
      assert.match(joerg.text, /^Guten Tag Jörg Größe,/m);
      assert.match(joerg.text, /Ihr Name und Ihre Kontaktdaten/);
      assert.doesNotMatch(joerg.text, /Gesundheitsdaten wie/, 'he had no measurement read');
      assert.match(joerg.subject, /Sicherheitsvorfall/);
      for (const mail of [anna, joerg]) {
        assert.ok(!/https?:\/\//.test(mail.text), 'links to nothing that needs a login');
        assert.ok(!mail.text.includes('72') || !mail.text.includes('beats'), 'no record contents');
      }
      assert.ok(!relay.received().some((m) => m.rcptTos.includes('erik@example.org')));

      const log = json(await call(approver, 'GET', `${base()}/${draftOf('individual').id}/deliveries`)).deliveries as Array<{ recipient: string; channel: string; status: string; code: string | null; messageId: string | null }>;
      const byPatient = Object.fromEntries(log.map((r) => [r.recipient, r]));
      assert.deepEqual([byPatient[`Patient/${ids['anna'] as string}`]?.channel, byPatient[`Patient/${ids['anna'] as string}`]?.status], ['email', 'sent']);
      assert.ok(anna.text.includes(byPatient[`Patient/${ids['anna'] as string}`]?.messageId as string), 'the mail carries the logged id');
      assert.deepEqual([byPatient[`Patient/${ids['bea'] as string}`]?.channel, byPatient[`Patient/${ids['bea'] as string}`]?.status], ['post', 'batched']);
      assert.deepEqual([byPatient[`Patient/${ids['erik'] as string}`]?.channel, byPatient[`Patient/${ids['erik'] as string}`]?.code], ['unreachable', 'erased']);
      assert.ok(!JSON.stringify(log).includes('@'), 'the log names patients, never addresses');
    });

    it('prints the print batch: the letter of the one without e-mail, and no one else', async () => {
      const batch = await call(approver, 'GET', `${base()}/${draftOf('individual').id}?format=pdf&batch=post`);
      assert.equal(batch.statusCode, 200, batch.body);
      assert.equal(batch.headers['content-type'], 'application/pdf');
      assert.equal(batch.headers['cache-control'], 'no-store');
      const text = pdfPages(batch.rawPayload).join('\n');
      assert.match(text, /Bea Brief/);
      assert.match(text, /Postweg 7/);
      assert.match(text, /10115 Berlin/);
      assert.match(text, /Guten Tag Bea Brief,/);
      assert.ok(!text.includes('Anna') && !text.includes('Jörg'));
    });

    it('sends nothing new the second time, and resumes after a crash with only those not yet logged', { timeout: 60_000 }, async () => {
      const before = relay.received().length;
      const again = json(await call(approver, 'POST', `${base()}/${draftOf('individual').id}/send`));
      assert.deepEqual(again.tally, { email: 0, failed: 0, post: 0, unreachable: 0, filed: 0, skipped: 4 });
      // A crash after Anna's mail: Jörg's row (and the rest) never written.
      const db = t.app.storage.platform;
      await db.execute(`DELETE FROM ${db.table('notice_deliveries')} WHERE draft_id = ? AND recipient <> ?`, [draftOf('individual').id, `Patient/${ids['anna'] as string}`]);
      const resumed = json(await call(approver, 'POST', `${base()}/${draftOf('individual').id}/send`));
      assert.deepEqual(resumed.tally, { email: 1, failed: 0, post: 1, unreachable: 1, filed: 0, skipped: 1 });
      await t.app.mail?.settled();
      // Letters to patients only: a mail to the clinic's own people meanwhile (an alert from the
      // detection engine, which runs on its own thread and may be late on a busy machine) is no letter.
      const letters = () => relay.received().slice(before).filter((m) => !(m.rcptTos[0] ?? '').endsWith('@north.example'));
      await relay.waitFor(before + 1);
      for (let waited = 0; letters().length === 0 && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(letters().map((m) => m.rcptTos[0]), ['joerg@example.org'], 'Anna is not mailed twice');
    });

    it('audits a letter’s download naming its patient; the send with counts only', async () => {
      const one = await call(approver, 'GET', `${base()}/${draftOf('individual').id}?format=html&recipient=Patient/${ids['joerg'] as string}`);
      assert.equal(one.statusCode, 200, one.body);
      assert.match(one.body, /<html lang="de">/);
      assert.match(one.body, /Jörg Größe/);
      // Served under a CSP that allows its own style element by hash, and nothing else (no script, no fetch).
      const styleText = /<style>([\s\S]*?)<\/style>/.exec(one.body)?.[1] as string;
      const csp = String(one.headers['content-security-policy']);
      assert.ok(csp.includes(`style-src 'sha256-${createHash('sha256').update(styleText, 'utf8').digest('base64')}'`), csp);
      assert.match(csp, /^default-src 'none';/);
      assert.doesNotMatch(csp, /unsafe|script-src/);
      await t.app.audit.settle('north');
      const [download] = await t.app.audit.query('north', { actions: ['notice.downloaded'], count: 1 });
      assert.deepEqual(download?.subjects, [`Patient/${ids['joerg'] as string}`]);
      const [sentEvent] = await t.app.audit.query('operators', { actions: ['notice.sent'], count: 1 });
      assert.match(sentEvent?.detail ?? '', /individual email=1 failed=0 post=1 unreachable=1/);
      for (const id of Object.values(ids)) assert.ok(!(sentEvent?.detail ?? '').includes(id));
    });

    it('mails the customer notice to the admins and the security contact; the tenant admin reads it but not the letters', { timeout: 60_000 }, async () => {
      const id = draftOf('customer').id;
      assert.equal((await call(approver, 'POST', `${base()}/${id}/approve`)).statusCode, 200);
      const sent = json(await call(approver, 'POST', `${base()}/${id}/send`));
      assert.equal(sent.tally.email, 2);
      await t.app.mail?.settled();
      const mails = relay.received().filter((m) => m.subject.startsWith('Sicherheitsvorfall: Mitteilung an'));
      assert.deepEqual(mails.map((m) => m.rcptTos[0]).sort(), ['admin@north.example', 'security@north.example']);
      assert.match(mails[0]?.text ?? '', /Ungefähre Zahl der betroffenen Personen: 4/);
      assert.match(mails[0]?.text ?? '', /Approximate number of data subjects \(individuals\): 4/);
      const list = await call(admin, 'GET', `/tenants/north/incidents/${incidentId}/drafts`);
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(json(list).drafts.map((d: { kind: string }) => d.kind).sort(), ['authority', 'customer']);
      const notice = await call(admin, 'GET', `/tenants/north/incidents/${incidentId}/drafts/${id}?format=text&language=en`);
      assert.equal(notice.statusCode, 200);
      assert.match(notice.body, /notice to north/);
      assert.equal((await call(admin, 'GET', `/tenants/north/incidents/${incidentId}/drafts/${draftOf('individual').id}?format=text`)).statusCode, 404);
      assert.equal((await call(admin, 'POST', `${base()}/${id}/approve`)).statusCode, 401);
      // In the clinic console: the incident's page lists the notices for the practice, with downloads.
      const page = await call(admin, 'GET', `/tenants/north/console/incidents/${incidentId}`);
      assert.equal(page.statusCode, 200, page.body);
      assert.match(page.body, /Breach notices for your practice|Benachrichtigungen für Ihre Praxis/);
      assert.ok(page.body.includes(`/tenants/north/incidents/${incidentId}/drafts/${id}?format=pdf&#38;language=de`));
      assert.ok(!page.body.includes(draftOf('individual').id), 'not the letters');
    });

    it('records the authority report as filed, not mailed', async () => {
      const id = draftOf('authority').id;
      assert.equal((await call(approver, 'POST', `${base()}/${id}/approve`)).statusCode, 200);
      const before = relay.received().length;
      const filed = json(await call(approver, 'POST', `${base()}/${id}/send`));
      assert.deepEqual([filed.draft.state, filed.tally.filed, filed.tally.email], ['sent', 1, 0]);
      assert.equal(relay.received().length, before);
      assert.equal(errorCode(await call(drafter, 'PATCH', `${base()}/${id}`, { en: { measures: 'later' } })), 'notice-state-conflict');
    });
  });
}
