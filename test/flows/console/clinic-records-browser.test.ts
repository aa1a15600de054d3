import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { patient } from '../../support/harness.js';
import { personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { create, weight } from './clinic-records-fixture.js';

const reason = 'Found unconscious in the waiting room; need prior vitals';

describe('clinic console in Chromium, by keyboard: patients, break-the-glass, review, audit trail', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let inCare: string;
  const secrets: Record<string, string> = {};
  const codes: string[] = [];

  before(async () => {
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    const practitioner = await create(t, 'clinic', key, 'Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Heiler' }] });
    inCare = await create(t, 'clinic', key, 'Patient', patient({ name: [{ family: 'Mustermann', given: ['Erika'] }], generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] }));
    for (const [at, kg] of [['2026-01-05T09:00:00Z', 82.4], ['2026-02-02T09:00:00Z', 81.7], ['2026-03-02T09:00:00Z', 80.9], ['2026-04-06T09:00:00Z', 80.2], ['2026-06-01T09:00:00Z', 79.5]] as const) {
      await create(t, 'clinic', key, 'Observation', weight(inCare, at, kg));
    }
    await create(t, 'clinic', key, 'Appointment', { resourceType: 'Appointment', status: 'booked', description: 'Check-up', start: '2026-12-10T09:00:00Z', end: '2026-12-10T09:30:00Z', participant: [{ actor: { reference: `Patient/${inCare}` }, status: 'accepted' }] });
    secrets['dr@example.org'] = await personWithTotp(t, 'clinic', 'clinician', 'dr@example.org', { practitioner: `Practitioner/${practitioner}` });
    secrets['er@example.org'] = await personWithTotp(t, 'clinic', 'clinician', 'er@example.org');
    secrets['audit@example.org'] = await personWithTotp(t, 'clinic', 'auditor', 'audit@example.org');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Sign-in and second factor by keyboard; lands on the clinic console. */
  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    // The next period's code: the current one was spent confirming the enrolment.
    const code = await generate({ secret: secrets[email] as string, epoch: Math.floor(Date.now() / 1000) + 30 });
    codes.push(code);
    await signInByKeyboard(page, { email, password: testPassword, code });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);
  }

  it('a clinician finds and opens a patient; another breaks the glass; the auditor signs it off and downloads the patient’s trail', { timeout: 180_000 }, async () => {
    // 1. The clinician in charge: search by name, open, weights as a chart and a table.
    const dr = await watchedPage(browser);
    await signIn(dr.page, 'dr@example.org');
    await tabTo(dr.page, dr.page.getByRole('navigation').getByRole('link', { name: 'Patients' }), 'the Patients section', 20);
    await dr.page.keyboard.press('Enter');
    await dr.page.getByRole('heading', { level: 1, name: 'Patients' }).waitFor();
    await tabTo(dr.page, dr.page.getByLabel('Name', { exact: true }), 'the name field', 20);
    await dr.page.keyboard.type('Mustermann');
    await dr.page.keyboard.press('Enter');
    await dr.page.getByRole('table').waitFor();
    await assertStyled(dr.page, 'patient search');
    await assertAccessible(dr.page, 'patient search with results');
    await screenshotForDocs(dr.page, 'console-patients');
    await tabTo(dr.page, dr.page.getByRole('link', { name: 'Erika Mustermann' }), 'the patient in the results', 30);
    await dr.page.keyboard.press('Enter');
    await dr.page.getByRole('heading', { level: 1, name: 'Patient: Erika Mustermann' }).waitFor();
    const chart = dr.page.getByRole('img', { name: /Body weight/ });
    assert.ok(await chart.isVisible(), 'the weight chart');
    assert.equal(await chart.locator('circle').count(), 5, 'a point per weighing');
    const table = dr.page.getByRole('table', { name: 'Observations' });
    assert.equal(await table.getByRole('row').count(), 6, 'a header and five weights');
    assert.ok(await table.getByRole('cell', { name: '79.5 kg' }).isVisible());
    await assertAccessible(dr.page, 'patient page');
    await screenshotForDocs(dr.page, 'console-patient');
    assert.deepEqual(dr.refusals(), []);
    await dr.context.close();

    // 2. A clinician without a care relationship: refused, then break-the-glass with a reason.
    const er = await watchedPage(browser);
    await signIn(er.page, 'er@example.org');
    await er.page.goto(`${t.base}/tenants/clinic/console/patients/${inCare}`);
    assert.ok(await er.page.getByText('This patient is not in your care.').isVisible());
    await assertAccessible(er.page, 'break-the-glass form');
    await tabTo(er.page, er.page.getByLabel('Why do you need this record now?'), 'the reason field', 20);
    await er.page.keyboard.type(reason);
    await er.page.keyboard.press('Tab');
    await er.page.keyboard.press('Enter');
    await er.page.getByText('Emergency access: this view is recorded').waitFor();
    assert.ok(await er.page.getByRole('img', { name: /Body weight/ }).isVisible(), 'the record is open');
    await assertAccessible(er.page, 'patient page under emergency access');
    assert.deepEqual(er.refusals(), []);
    await er.context.close();

    // 3. The auditor: the review queue, sign-off by keyboard.
    const au = await watchedPage(browser);
    await signIn(au.page, 'audit@example.org');
    await tabTo(au.page, au.page.getByRole('navigation').getByRole('link', { name: 'Break-the-glass review' }), 'the review section', 20);
    await au.page.keyboard.press('Enter');
    await au.page.getByRole('heading', { level: 1, name: 'Break-the-glass review' }).waitFor();
    assert.ok(await au.page.getByText(reason).isVisible(), 'the stated reason');
    assert.equal(await au.page.getByRole('button', { name: 'Sign off this access' }).count(), 1, 'one request, one item');
    await assertAccessible(au.page, 'review queue');
    await screenshotForDocs(au.page, 'console-review');
    await tabTo(au.page, au.page.getByLabel('Justified', { exact: true }), 'the verdict', 30);
    await au.page.keyboard.press('Space');
    await tabTo(au.page, au.page.getByLabel('Review note'), 'the note', 5);
    await au.page.keyboard.type('Confirmed with the ward: emergency admission');
    await au.page.keyboard.press('Tab');
    await au.page.keyboard.press('Enter');
    await au.page.getByText('The review was recorded.').waitFor();
    assert.ok(await au.page.getByText('Nothing to review.').isVisible());
    const [review] = await t.app.audit.query('clinic', { actions: ['access.emergency_reviewed'], outcome: 'success', count: 1 });
    assert.equal(review?.detail, 'justified: Confirmed with the ward: emergency admission');

    // 4. The audit trail filtered by the patient, and its CSV.
    await tabTo(au.page, au.page.getByRole('navigation').getByRole('link', { name: 'Audit trail' }), 'the audit section', 20);
    await au.page.keyboard.press('Enter');
    await au.page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
    await tabTo(au.page, au.page.getByLabel('Patient', { exact: true }), 'the patient filter', 20);
    await au.page.keyboard.type(inCare);
    await au.page.keyboard.press('Enter');
    await au.page.waitForURL(/patient=/);
    const events = au.page.getByRole('table', { name: 'Events, newest first' });
    assert.ok((await events.getByRole('row').count()) > 3);
    assert.ok(await events.getByRole('cell', { name: 'access.emergency_granted' }).first().isVisible());
    await assertAccessible(au.page, 'audit trail');
    await screenshotForDocs(au.page, 'console-audit');
    const download = au.page.waitForEvent('download');
    await tabTo(au.page, au.page.getByRole('link', { name: 'Download CSV' }), 'the CSV download', 80);
    await au.page.keyboard.press('Enter');
    const file = await download;
    assert.match(file.suggestedFilename(), /^audit-clinic-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = await readFile(await file.path(), 'utf8');
    const lines = csv.trim().split('\r\n');
    assert.match(lines[0] as string, /^id,time,actor,role,client,action,outcome,status,purpose,resources,patients/);
    assert.ok(lines.slice(1).every((l) => l.includes(`Patient/${inCare}`)), 'only the patient’s events');
    for (const action of ['record.read', 'record.searched', 'access.emergency_granted', 'access.emergency_reviewed', 'audit.read']) {
      assert.ok(lines.some((l) => l.includes(`"${action}"`)), `the CSV has ${action}`);
    }
    assert.ok(csv.includes(reason), 'the stated reason is in the export');

    // 5. The same page in German.
    await tabTo(au.page, au.page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 80);
    await au.page.keyboard.press('Enter');
    await au.page.getByRole('heading', { level: 1, name: 'Protokoll' }).waitFor();
    assert.equal(await au.page.getAttribute('html', 'lang'), 'de');
    await assertAccessible(au.page, 'audit trail (German)');
    assert.deepEqual(au.refusals(), [], 'the browser refused nothing and no script failed');
    await au.context.close();

    assert.ok(!t.logs.some((line) => line.includes(testPassword) || line.includes(reason) || line.includes('Mustermann') || codes.some((c) => line.includes(c))), 'no password, code, reason or record content in the log');
  });
});
