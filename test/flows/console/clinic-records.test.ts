import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEmergencyReview } from '../../../src/audit/index.js';
import { engines, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { as } from '../../support/people.js';
import { get, makeClinic, postForm, roles, type Clinic, type Role } from './clinic-records-fixture.js';

/**
 * Who may reach which console page and form — written out here, independently of the permission
 * matrix the pages use: patients for the clinician and the front desk, break-the-glass for the
 * clinician, the audit trail and the review for the auditor. Everyone else gets 403.
 */
const allowed: Readonly<Record<'patients' | 'patient' | 'breakGlass' | 'audit' | 'exportCsv' | 'exportJson' | 'review' | 'signOff', readonly Role[]>> = {
  patients: ['clinician', 'front-desk'],
  patient: ['clinician', 'front-desk'],
  breakGlass: ['clinician'],
  audit: ['auditor'],
  exportCsv: ['auditor'],
  exportJson: ['auditor'],
  review: ['auditor'],
  signOff: ['auditor'],
};

const injection = "=HYPERLINK(\"http://evil.example\") unconscious, need her vitals";

for (const engine of engines()) {
  describe(`clinic console: patients, audit trail, break-the-glass review [${engine}]`, () => {
    let t: OAuthTestApp;
    let a: Clinic;
    let b: Clinic;
    const base = () => `/tenants/${a.tenantId}/console`;

    before(async () => {
      t = await startOAuthApp(engine);
      a = await makeClinic(t, 'clinic', 'a', 'Mustermann');
      b = await makeClinic(t, 'other', 'b', 'Zettelmeyer');
    });
    after(async () => t.close());

    it('refuses every page and form to each role that must not reach it (403), and serves the others', async () => {
      for (const role of roles) {
        const who = a.people[role];
        const answers: Record<keyof typeof allowed, number> = {
          patients: (await get(t, who, `${base()}/patients/?name=Mustermann`)).statusCode,
          patient: (await get(t, who, `${base()}/patients/${a.inCare}`)).statusCode,
          breakGlass: (await postForm(t, who, `${base()}/patients/${a.inCare}/break-glass`, { reason: 'Checking the access table of roles' })).statusCode,
          audit: (await get(t, who, `${base()}/audit/`)).statusCode,
          exportCsv: (await get(t, who, `${base()}/audit/export.csv`)).statusCode,
          exportJson: (await get(t, who, `${base()}/audit/export.json`)).statusCode,
          review: (await get(t, who, `${base()}/review/`)).statusCode,
          // No such access: an allowed role gets 404, the others 403 before anything is looked up.
          signOff: (await postForm(t, who, `${base()}/review/999999`, { verdict: 'justified', note: 'fine' })).statusCode,
        };
        for (const [page, status] of Object.entries(answers) as Array<[keyof typeof allowed, number]>) {
          const expected = allowed[page].includes(role) ? (page === 'signOff' ? 404 : 200) : 403;
          assert.equal(status, expected, `${role} → ${page}`);
        }
      }
      // The refusals are in the trail as the API's are.
      const denied = await t.app.audit.query('clinic', { actions: ['access.denied'], actor: `account:${a.people['front-desk'].accountId}`, count: 10 });
      assert.ok(denied.some((e) => e.detail === 'break-glass-invalid'), 'the front desk’s attempt to break the glass is recorded');
    });

    it('a form without the session’s CSRF token is refused', async () => {
      const forged = await postForm(t, a.stranger, `${base()}/patients/${a.outside}/break-glass`, { reason: 'A forged form tries this here' }, 'not-the-token');
      assert.equal(forged.statusCode, 403);
      const grants = await t.app.audit.query('clinic', { actions: ['access.emergency_granted'], actor: `account:${a.stranger.accountId}`, count: 5 });
      assert.equal(grants.length, 0, 'nothing was granted');
    });

    it('searches patients as the API does: a clinician finds those in their care, the front desk all, by name, identifier and birth date; audited', async () => {
      const dr = a.people.clinician;
      const mine = await get(t, dr, `${base()}/patients/?name=Mustermann`);
      assert.match(mine.body, new RegExp(`href="${base()}/patients/${a.inCare}"`));
      const notMine = await get(t, dr, `${base()}/patients/?name=Fremd`);
      assert.doesNotMatch(notMine.body, new RegExp(a.outside), 'a patient outside the care is not found');
      assert.match(notMine.body, /No patient in your reach matches/);
      const byId = await get(t, a.people['front-desk'], `${base()}/patients/?identifier=a-MRN-2`);
      assert.match(byId.body, new RegExp(a.outside), 'the front desk reaches every patient');
      const byBirth = await get(t, a.people['front-desk'], `${base()}/patients/?birthdate=1980-02-03`);
      assert.match(byBirth.body, new RegExp(a.inCare));
      const searched = await t.app.audit.query('clinic', { actions: ['record.searched'], actor: `account:${dr.accountId}`, count: 5 });
      assert.ok(searched.some((e) => e.resources.some((r) => r.startsWith(`Patient/${a.inCare}/`))), 'the search is in the trail with what it disclosed');
      assert.equal(searched[0]?.actor.client, 'session');
      assert.equal(searched[0]?.purpose, 'TREAT', 'as the API defaults a clinician’s purpose');
      const empty = await get(t, dr, `${base()}/patients/`);
      assert.doesNotMatch(empty.body, /<table/, 'no search without criteria');
    });

    it('opens a patient: the clinician sees demographics, weights as a chart and a table, appointments; the front desk no health values', async () => {
      const dr = await get(t, a.people.clinician, `${base()}/patients/${a.inCare}`);
      assert.equal(dr.statusCode, 200);
      assert.match(dr.body, /<h1>Patient: Erika Mustermann<\/h1>/);
      assert.match(dr.body, /<svg[^>]*role="img"/, 'a chart');
      assert.match(dr.body, /Body weight/);
      assert.match(dr.body, /79\.5 kg/);
      assert.match(dr.body, /Check-up/);
      assert.match(dr.body, /id="consents"/);
      const read = await t.app.audit.query('clinic', { actions: ['record.read'], actor: `account:${a.people.clinician.accountId}`, patient: `Patient/${a.inCare}`, count: 1 });
      assert.equal(read.length, 1, 'the read is audited');

      const desk = await get(t, a.people['front-desk'], `${base()}/patients/${a.inCare}`);
      assert.equal(desk.statusCode, 200);
      assert.match(desk.body, /Erika Mustermann/);
      assert.match(desk.body, /<h2 id="appointments">/, 'appointments');
      assert.doesNotMatch(desk.body, /Check-up/, 'but not their description, which the matrix classes as health data');
      assert.doesNotMatch(desk.body, /id="observations"|<svg|79[.,]5/, 'no observations, no health values');
      assert.doesNotMatch(desk.body, /id="consents"/, 'consents are not the front desk’s');
    });

    it('a clinician outside the care gets the API’s 403 with break-the-glass; a reason opens the record, recorded as an emergency', async () => {
      const stranger = a.stranger;
      const refused = await get(t, stranger, `${base()}/patients/${a.inCare}`);
      assert.equal(refused.statusCode, 403);
      assert.match(refused.body, /not in your care/);
      assert.match(refused.body, new RegExp(`action="${base()}/patients/${a.inCare}/break-glass"`));
      assert.doesNotMatch(refused.body, /Mustermann/, 'nothing of the patient is shown');
      const desk = await get(t, a.people['front-desk'], `${base()}/patients/nope-nothing`);
      assert.equal(desk.statusCode, 404);
      assert.doesNotMatch(desk.body, /break-glass/, 'a role without emergency access is never offered it');

      const short = await postForm(t, stranger, `${base()}/patients/${a.inCare}/break-glass`, { reason: 'because' });
      assert.equal(short.statusCode, 400);
      assert.match(short.body, /role="alert" id="reason-error"/);
      assert.match(short.body, /aria-describedby="reason-error reason-hint"/);

      const opened = await postForm(t, stranger, `${base()}/patients/${a.inCare}/break-glass`, { reason: injection });
      assert.equal(opened.statusCode, 200);
      assert.match(opened.body, /Emergency access: this view is recorded/);
      assert.match(opened.body, /79\.5 kg/);
      const grants = await t.app.audit.query('clinic', { actions: ['access.emergency_granted'], actor: `account:${stranger.accountId}`, count: 10 });
      assert.ok(grants.length >= 2, 'the patient and their observations');
      for (const grant of grants) {
        assert.equal(grant.detail, injection);
        assert.equal(grant.purpose, 'ETREAT');
        assert.deepEqual(grant.subjects, [`Patient/${a.inCare}`]);
      }
      assert.ok(!t.logs.some((line) => line.includes('HYPERLINK') || line.includes('Mustermann')), 'neither the reason nor the record is logged');
    });

    it('the review queue lists the emergency access once per request; the auditor signs it off; nobody signs their own', async () => {
      const auditor = a.people.auditor;
      const queue = await get(t, auditor, `${base()}/review/`);
      assert.equal(queue.statusCode, 200);
      const seqs = [...queue.body.matchAll(/action="\/tenants\/clinic\/console\/review\/(\d+)"/g)].map((m) => Number(m[1]));
      assert.equal(seqs.length, 1, 'one break-the-glass request, one item');
      const opened = /<dt>Records opened<\/dt><dd>([^<]*)<\/dd>/.exec(queue.body)?.[1] ?? '';
      assert.match(opened, new RegExp(`Patient/${a.inCare}`), 'the item names every record the request opened: the patient');
      assert.match(opened, /Observation\//, 'and their observations');
      assert.match(queue.body, /unconscious, need her vitals/);
      assert.match(queue.body, new RegExp(`account:${a.stranger.accountId}`));

      // The clinician who broke the glass cannot sign it off (the service refuses it for anyone, whatever the role).
      const review = createEmergencyReview(t.app.audit);
      await assert.rejects(
        review.signOff('clinic', { access: seqs[0] as number, verdict: 'justified', note: 'I say so myself', reviewer: { id: `account:${a.stranger.accountId}`, role: 'clinician', client: 'session' }, purpose: 'HOPERAT', requestId: 'r1', sourceIp: '127.0.0.1' }),
        (error: { code?: string; status?: number }) => error.code === 'review-own-access' && error.status === 403,
      );

      const noNote = await postForm(t, auditor, `${base()}/review/${seqs[0]}`, { verdict: 'justified', note: '' });
      assert.equal(noNote.statusCode, 400);
      assert.match(noNote.body, /role="alert"/);
      const signed = await postForm(t, auditor, `${base()}/review/${seqs[0]}`, { verdict: 'not-justified', note: 'Patient was stable; no emergency' });
      assert.equal(signed.statusCode, 303);
      assert.equal(signed.headers.location, `${base()}/review/?signed=${seqs[0]}`);
      const again = await postForm(t, auditor, `${base()}/review/${seqs[0]}`, { verdict: 'justified', note: 'second try' });
      assert.equal(again.statusCode, 409, 'signed off once');
      const after = await get(t, auditor, `${base()}/review/?signed=${seqs[0]}`);
      assert.match(after.body, /The review was recorded/);
      assert.match(after.body, /Nothing to review/, 'every grant of that request was covered');
      const [event] = await t.app.audit.query('clinic', { actions: ['access.emergency_reviewed'], outcome: 'success', count: 1 });
      assert.equal(event?.detail, 'not-justified: Patient was stable; no emergency');
      assert.equal(event?.actor.id, `account:${auditor.accountId}`);
      assert.ok(event?.resources.includes(`AuditEvent/${seqs[0]}`));
      assert.deepEqual(event?.subjects, [`Patient/${a.inCare}`]);
    });

    it('the JSON queue and sign-off: the same service, the same rules', async () => {
      const stranger = a.stranger;
      const opened = await as(t, stranger, { method: 'GET', url: `/tenants/clinic/fhir/Patient/${a.outside}`, headers: { 'x-break-glass-reason': 'Collapsed in the waiting room' } });
      assert.equal(opened.statusCode, 200);
      const auditor = a.people.auditor;
      const pending = JSON.parse((await as(t, auditor, { method: 'GET', url: '/tenants/clinic/audit/emergency-access/pending' })).body) as { events: Array<{ id: number; detail: string }> };
      assert.deepEqual(pending.events.map((e) => e.detail), ['Collapsed in the waiting room']);
      const id = pending.events[0]?.id as number;
      assert.equal((await as(t, stranger, { method: 'GET', url: '/tenants/clinic/audit/emergency-access/pending' })).statusCode, 403);
      const json = (who: typeof auditor, body: unknown) => as(t, who, { method: 'POST', url: `/tenants/clinic/audit/emergency-access/${id}/review`, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal((await json(stranger, { verdict: 'justified', note: 'mine' })).statusCode, 403, 'not the clinician');
      assert.equal((await json(auditor, { verdict: 'maybe', note: 'hmm' })).statusCode, 400);
      const ok = await json(auditor, { verdict: 'justified', note: 'Confirmed by the ward' });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await json(auditor, { verdict: 'justified', note: 'again' })).statusCode, 409);
      const [refusal] = await t.app.audit.query('clinic', { actor: `account:${auditor.accountId}`, outcome: 'failure', count: 1 });
      assert.deepEqual([refusal?.action, refusal?.detail, refusal?.status], ['access.emergency_reviewed', 'already-reviewed', 409], 'a refused sign-off is recorded as one');
      const empty = JSON.parse((await as(t, auditor, { method: 'GET', url: '/tenants/clinic/audit/emergency-access/pending' })).body) as { events: unknown[] };
      assert.deepEqual(empty.events, []);
    });

    it('the audit trail filters, pages and exports CSV and JSON (formula cells defused); reading and exporting are audited', async () => {
      const auditor = a.people.auditor;
      const page = await get(t, auditor, `${base()}/audit/?patient=${a.inCare}&action=access.emergency_granted`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /access\.emergency_granted/);
      assert.doesNotMatch(page.body, /<td>record\.read<\/td>/, 'filtered by action');
      const bad = await get(t, auditor, `${base()}/audit/?from=yesterday`);
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /role="alert" id="filter-error"/);

      const csv = await get(t, auditor, `${base()}/audit/export.csv?patient=Patient/${a.inCare}`);
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /^attachment; filename="audit-clinic-\d{4}-\d{2}-\d{2}\.csv"$/);
      const lines = csv.body.trim().split('\r\n');
      assert.match(lines[0] as string, /^id,time,actor,role,client,action,outcome/);
      assert.ok(lines.length > 3);
      assert.ok(lines.slice(1).every((l) => l.includes(`Patient/${a.inCare}`)), 'only events of the patient');
      assert.ok(csv.body.includes(`"'${injection.replace(/"/g, '""')}"`), 'the reason starting with = is defused');
      assert.ok(!/(^|,)"[=+\-@]/m.test(csv.body), 'no cell starts with a formula character');

      const json = await get(t, auditor, `${base()}/audit/export.json?action=access.emergency_granted`);
      assert.equal(json.statusCode, 200);
      const parsed = JSON.parse(json.body) as { events: Array<{ action: string }>; limit: number };
      assert.ok(parsed.events.length > 0 && parsed.events.every((e) => e.action === 'access.emergency_granted'));
      assert.equal(parsed.limit, 10_000);

      const reads = await t.app.audit.query('clinic', { actions: ['audit.read'], actor: `account:${auditor.accountId}`, patient: `Patient/${a.inCare}`, count: 10 });
      assert.ok(reads.length >= 2, 'viewing and exporting the patient’s trail are themselves events naming the patient');
    });

    it('tenant A’s console never shows tenant B', async () => {
      // Before anyone in A asks for B's ids (a request for one is recorded in A's trail, as the API records it).
      const trail = await get(t, a.people.auditor, `${base()}/audit/export.json`);
      assert.ok(trail.body.length > 1000);
      assert.ok(!trail.body.includes(b.inCare), 'A’s export has no patient of B');
      assert.ok(!trail.body.includes(b.people.auditor.accountId), 'A’s export has no person of B');
      const dr = a.people['front-desk'];
      const search = await get(t, dr, `${base()}/patients/?name=Zettelmeyer`);
      assert.doesNotMatch(search.body, /Zettelmeyer<\/a>|b-MRN/, 'B’s patient is not found in A');
      const open = await get(t, dr, `${base()}/patients/${b.inCare}`);
      assert.equal(open.statusCode, 404);
      assert.doesNotMatch(open.body, /Zettelmeyer/);
      const queue = await get(t, a.people.auditor, `${base()}/review/`);
      assert.doesNotMatch(queue.body, new RegExp(b.stranger.accountId));
      // A's session is not a session of B: B's console sends it to B's sign-in.
      const cross = await get(t, a.people.auditor, `/tenants/other/console/audit/`);
      assert.equal(cross.statusCode, 303);
      assert.match(String(cross.headers.location), /^\/tenants\/other\/account\/sign-in/);
    });
  });
}
