import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { createFhirValidator } from '../../../src/records/index.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, testPassword, type Person } from '../../support/people.js';
import { pdfToText, skipWithoutPdftotext } from '../../support/pdftotext.js';

type Links = { export: { id: string; state: string; done: number; total: number; expiresAt: string; files: Array<{ name: string; bytes: number }> }; links?: Array<{ name: string; url: string }> };

const marker = 'Quokkahausen';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The personal download (GDPR Art. 15, 20): exactly the subject's data, sealed at rest, for the subject only. */
for (const engine of engines()) {
  describe(`personal download [${engine}]`, { skip: skipWithoutPdftotext }, () => {
    let t: TestApp;
    let key: string;
    let anna: string;
    let bert: string;
    let annaIds: string[];
    let annaSession: Person;
    let bertSession: Person;
    let admin: Person;
    let exportId: string;
    const fixed = fixedClock(new Date('2026-04-01T08:00:00Z'));
    const clock = { now: () => (fixed.advance(1), fixed.now()) };
    const base = '/tenants/clinic';
    const post = async (type: string, body: unknown) => {
      const response = await t.inject({ method: 'POST', url: `${base}/fhir/${type}`, key, body });
      assert.equal(response.statusCode, 201, response.body);
      return json(response)['id'] as string;
    };
    const startAs = (person: Person, body: unknown = {}) => as(t, person, { method: 'POST', url: `${base}/privacy/exports`, body, headers: { 'content-type': 'application/json' } });
    const statusAs = async (person: Person, id: string) => {
      const response = await as(t, person, { method: 'GET', url: `${base}/privacy/exports/${id}` });
      assert.equal(response.statusCode, 200, response.body);
      return json<Links>(response);
    };
    const path = (url: string) => url.slice(url.indexOf('/tenants/'));

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      key = await t.tenant('clinic');
      anna = await post('Patient', patient({ name: [{ family: marker, given: ['Anna'] }] }));
      bert = await post('Patient', patient({ name: [{ family: 'Bauer', given: ['Bert'] }], identifier: [{ system: 'urn:x', value: 'B2' }] }));
      annaIds = [`Patient/${anna}`];
      for (const [value, day] of [[71, '01'], [84, '02'], [93, '03']] as const) {
        annaIds.push(`Observation/${await post('Observation', observation(anna, { effectiveDateTime: `2026-03-${day}T09:00:00Z`, valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' } }))}`);
      }
      annaIds.push(`Observation/${await post('Observation', observation(anna, { code: { text: 'Body weight' }, valueQuantity: { value: 61.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }))}`);
      await post('Observation', observation(bert, { valueQuantity: { value: 111, unit: 'Bertunits', system: 'http://unitsofmeasure.org', code: '/min' } }));
      annaSession = await signIn(t, 'clinic', 'patient', 'anna@example.org', { patient: `Patient/${anna}` });
      bertSession = await signIn(t, 'clinic', 'patient', 'bert@example.org', { patient: `Patient/${bert}` });
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', () => clock.now().getTime());
    });
    after(() => t.close());

    it('a patient starts their download; it is prepared off the request path with progress, and audited', async () => {
      const started = await startAs(annaSession);
      assert.equal(started.statusCode, 202, started.body);
      exportId = json<Links>(started).export.id;
      assert.match(String(started.headers['location']), new RegExp(`/privacy/exports/${exportId}$`));
      await t.app.subjectExports.idle();
      const status = await statusAs(annaSession, exportId);
      assert.equal(status.export.state, 'ready');
      assert.equal(status.export.done, 5);
      assert.equal(status.export.total, 5);
      assert.deepEqual(status.export.files.map((f) => f.name), ['records.json', 'summary.pdf', 'summary.html', 'account.json', 'consents.json', 'access-log.json']);
      assert.equal(status.links?.length, 6);
      const [startedEvent] = await t.app.audit.query('clinic', { count: 1, actions: ['privacy.export_started'] });
      assert.deepEqual(startedEvent?.subjects, [`Patient/${anna}`]);
      const exported = await t.app.audit.query('clinic', { count: 10, actions: ['record.exported'], patient: `Patient/${anna}` });
      assert.equal(exported.length, 1);
      assert.equal(exported[0]?.resources.length, 5);
    });

    it('the Bundle validates against R4, parses, and holds exactly the patient’s records', async () => {
      const { links } = await statusAs(annaSession, exportId);
      const url = links?.find((l) => l.name === 'records.json')?.url as string;
      const response = await as(t, annaSession, { method: 'GET', url: path(url) });
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /application\/fhir\+json/);
      assert.match(String(response.headers['content-disposition']), /attachment; filename="records.json"/);
      assert.equal(response.headers['cache-control'], 'no-store');
      const bundle = JSON.parse(response.body) as { resourceType: string; type: string; entry: Array<{ resource: Record<string, any> }> };
      createFhirValidator().validate(bundle, 'Bundle');
      assert.equal(bundle.type, 'collection');
      const ids = bundle.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort();
      assert.deepEqual(ids, [...annaIds].sort());
      // Every reference resolves inside the Bundle, as a client following them would find.
      for (const e of bundle.entry.filter((x) => x.resource['resourceType'] === 'Observation')) assert.ok(ids.includes(e.resource['subject'].reference));
      assert.ok(!response.body.includes('Bauer'));
      assert.ok(!response.body.includes('Bertunits'));
    });

    it('the PDF read with pdftotext shows the name, the birth date and the measurements with units', async () => {
      const { links } = await statusAs(annaSession, exportId);
      const response = await as(t, annaSession, { method: 'GET', url: path(links?.find((l) => l.name === 'summary.pdf')?.url as string) });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/pdf');
      const text = await pdfToText(response.rawPayload);
      assert.match(text, new RegExp(`Anna ${marker}`));
      assert.match(text, /1980-02-03/);
      for (const value of ['71', '84', '93', '61.5']) assert.match(text, new RegExp(`\\b${value.replace('.', '\\.')}\\b`));
      assert.match(text, /beats\/minute/);
      assert.match(text, /\bkg\b/);
      assert.match(text, /Heart rate/);
      assert.doesNotMatch(text, /Bauer|Bertunits/);
      const htmlFile = await as(t, annaSession, { method: 'GET', url: path(links?.find((l) => l.name === 'summary.html')?.url as string) });
      assert.match(htmlFile.body, new RegExp(marker));
      assert.match(String(htmlFile.headers['content-security-policy']), /sandbox/);
      const account = JSON.parse((await as(t, annaSession, { method: 'GET', url: path(links?.find((l) => l.name === 'account.json')?.url as string) })).body);
      assert.equal(account.accounts[0].email, 'anna@example.org');
      assert.doesNotMatch(JSON.stringify(account), /hash|secret|password/i);
      const log = JSON.parse((await as(t, annaSession, { method: 'GET', url: path(links?.find((l) => l.name === 'access-log.json')?.url as string) })).body);
      assert.ok(log.entries.some((e: { action: string; purpose: string }) => e.action === 'record.created' && e.purpose !== undefined));
    });

    it('each download is audited with the subject and the classes; no contents in the trail', async () => {
      const events = await t.app.audit.query('clinic', { count: 20, actions: ['privacy.export_downloaded'] });
      assert.ok(events.length >= 5);
      for (const event of events) {
        assert.deepEqual(event.subjects, [`Patient/${anna}`]);
        assert.equal(event.actor.id, `account:${annaSession.accountId}`);
      }
      assert.ok(events.some((e) => e.classes.includes('health')));
      assert.ok(!JSON.stringify(events).includes(marker));
      // The patient sees them in "who accessed my data", in words.
      const page = await as(t, annaSession, { method: 'GET', url: `${base}/me/access` });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /downloaded a file of your data/);
      assert.match(page.body, /started a download of your data/);
    });

    it('the files on disk are sealed: no plaintext marker, no measurement', () => {
      const files = filesUnder(join(t.dataDir, 'exports'));
      assert.equal(files.length, 6);
      for (const file of files) {
        const bytes = readFileSync(file);
        assert.ok(!bytes.includes(Buffer.from(marker)), `${file} holds the marker in clear`);
        assert.ok(!bytes.includes(Buffer.from('beats/minute')), `${file} holds a unit in clear`);
        assert.ok(!bytes.includes(Buffer.from('%PDF')), `${file} is a PDF in clear`);
      }
    });

    it('another patient, no session, a wrong or replaced token: refused', async () => {
      const { links } = await statusAs(annaSession, exportId);
      const url = path(links?.[0]?.url as string);
      const other = await as(t, bertSession, { method: 'GET', url });
      assert.equal(other.statusCode, 403);
      assert.equal(errorCode(other), 'export-forbidden');
      assert.equal((await as(t, bertSession, { method: 'GET', url: `${base}/privacy/exports/${exportId}` })).statusCode, 403);
      assert.equal((await t.inject({ method: 'GET', url })).statusCode, 401);
      const wrong = await as(t, annaSession, { method: 'GET', url: url.replace(/token=[^&]+/, 'token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') });
      assert.equal(errorCode(wrong), 'export-token-invalid');
      await statusAs(annaSession, exportId); // fresh links replace these
      assert.equal(errorCode(await as(t, annaSession, { method: 'GET', url })), 'export-token-invalid');
      const denials = await t.app.audit.query('clinic', { count: 10, actions: ['access.denied'], actor: `account:${bertSession.accountId}` });
      assert.ok(denials.length >= 1);
      // The link's token never reaches the logs or the audit trail (the request log drops query strings).
      const token = new URL(`http://x${url}`).searchParams.get('token') as string;
      assert.ok(!t.logs.some((line) => line.includes(token)));
      assert.ok(!JSON.stringify(await t.app.audit.query('clinic', { count: 1000 })).includes(token));
    });

    it('staff with privacy:manage prepare a patient’s download and follow it, but cannot open it', async () => {
      const started = await startAs(admin, { patient: `Patient/${bert}`, request: 'letter-2026-04-01' });
      assert.equal(started.statusCode, 202, started.body);
      const id = json<Links>(started).export.id;
      await t.app.subjectExports.idle();
      const seen = await statusAs(admin, id);
      assert.equal(seen.export.state, 'ready');
      assert.equal(seen.links, undefined);
      const bertLinks = await statusAs(bertSession, id);
      const byAdmin = await as(t, admin, { method: 'GET', url: path(bertLinks.links?.[0]?.url as string) });
      assert.equal(byAdmin.statusCode, 403);
      // Billing handles no patients' requests (no privacy:manage).
      const billing = await signInWithTotp(t, 'clinic', 'billing', 'billing@clinic.example', () => clock.now().getTime());
      assert.equal(errorCode(await startAs(billing, { patient: `Patient/${anna}` })), 'export-forbidden');
      assert.equal(errorCode(await startAs(annaSession, { patient: `Patient/${bert}` })), 'export-forbidden');
    });

    it('a download another server process left unfinished is failed once it stops moving, and can be started again', async () => {
      const db = await t.app.storage.tenant('clinic');
      const at = clock.now().getTime();
      await db.execute(
        `INSERT INTO ${db.table('privacy_exports')} (id, patient, requested_by, requested_role, state, done, total, created_at, expires_at, files, owner, heartbeat_at) VALUES (?, ?, ?, ?, 'running', 2, 5, ?, ?, '[]', 'a-process-that-ended', ?)`,
        ['0190000000000000-interrupted', `Patient/${bert}`, `account:${bertSession.accountId}`, 'patient', at, at + 86_400_000, at],
      );
      assert.equal((await t.app.subjectExports.status('clinic', '0190000000000000-interrupted')).state, 'running', 'still within its heartbeat');
      fixed.advance(180_000);
      const failed = await t.app.subjectExports.status('clinic', '0190000000000000-interrupted');
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error, 'interrupted');
    });

    it('erasing the patient (crypto-shredding) takes their download with them: 410', async () => {
      const started = await startAs(bertSession);
      const id = json<Links>(started).export.id;
      await t.app.subjectExports.idle();
      const { links } = await statusAs(bertSession, id);
      assert.ok(links !== undefined);
      await t.app.keys.shred('clinic', `Patient/${bert}`);
      const gone = await as(t, bertSession, { method: 'GET', url: path(links[0]?.url as string) });
      assert.equal(gone.statusCode, 410);
      assert.equal(errorCode(gone), 'export-erased');
    });

    it('an expired link is refused, and the sweep removes the files', async () => {
      const { links } = await statusAs(annaSession, exportId);
      fixed.advance(8 * 86_400_000);
      // Her session has long ended too: she signs in again, and the old link still does not work.
      const login = await t.app.http.inject({ method: 'POST', url: `${base}/auth/login`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'anna@example.org', password: testPassword }) });
      assert.equal(login.statusCode, 200, login.body);
      annaSession = { accountId: annaSession.accountId, cookie: String(login.headers['set-cookie']).split(';')[0] as string, csrf: json(login)['csrfToken'] as string };
      const expired = await as(t, annaSession, { method: 'GET', url: path(links?.[0]?.url as string) });
      assert.equal(expired.statusCode, 410);
      assert.equal(errorCode(expired), 'export-expired');
      assert.equal(await t.app.subjectExports.sweep(['clinic']), 4);
      assert.equal(filesUnder(join(t.dataDir, 'exports', 'clinic', exportId)).length, 0);
      assert.equal((await t.app.subjectExports.status('clinic', exportId)).state, 'expired');
    });
  });
}
