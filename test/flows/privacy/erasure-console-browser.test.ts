import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { json, observation, patient } from '../../support/harness.js';
import { personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The clinic admin erases a patient in the console, by keyboard only: the check shows the legal
 * hold and its reason, the hold is released with a reason, the erase form wants the id typed, a
 * wrong id erases nothing, the right one erases. axe finds nothing serious on any page; the CSP
 * refuses nothing.
 */
describe('erasure in the clinic console, in Chromium and by keyboard', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let adminSecret: string;
  let service: string;
  let patientId: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    service = await t.tenant('clinic');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key: service, body: patient({ name: [{ family: 'Vergessen', given: ['Vera'] }] }) });
    patientId = json(created)['id'] as string;
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key: service, body: observation(patientId) })).statusCode, 201);
    const by = { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } };
    await t.app.retentionSettings.set('clinic', { medicalRecords: null }, by.actor);
    await t.app.holds.set('clinic', { subject: `Patient/${patientId}`, reason: 'insurer dispute 2026-17' }, by);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('check, release the hold, confirm by typing the id, erase; axe on every page', { timeout: 180_000 }, async () => {
    const { page, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    const code = await generate({ secret: adminSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
    await signInByKeyboard(page, { email: 'admin@clinic.example', password: testPassword, code });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);

    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Erasure & retention', exact: true }), 'the Erasure & retention section', 25);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/erasure\/$/);
    await assertStyled(page, 'erasure page');
    await assertAccessible(page, 'erasure page');

    // The check names the hold and its reason.
    await typeInto(page, page.getByLabel('Patient id', { exact: true }).first(), 'the patient id field', patientId);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?patient=/);
    assert.match(await page.getByRole('status').innerText(), /cannot be erased now[\s\S]*insurer dispute 2026-17/);
    assert.equal(await page.getByRole('button', { name: 'Erase patient' }).count(), 0, 'no erase form while held');
    await assertAccessible(page, 'check with a hold');

    // Release the hold, with a reason.
    await typeInto(page, page.getByLabel('Why released'), 'the release reason', 'dispute settled');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=holdReleased$/);
    assert.equal((await t.app.holds.list('clinic', { active: true })).length, 0);

    // Check again: erasable. A wrong id in the confirmation erases nothing.
    await page.goto(`${t.base}/tenants/clinic/console/erasure/?patient=${patientId}`);
    assert.match(await page.getByRole('status').innerText(), /Nothing stands in the way/);
    await assertAccessible(page, 'erase form');
    await screenshotForDocs(page, 'console-erasure');
    await typeInto(page, page.getByLabel('Reason', { exact: true }).first(), 'the reason', 'Art. 17(1)(a), asked in person, ID card seen');
    await typeInto(page, page.getByLabel('Type the patient id to confirm'), 'the confirmation', 'not-the-id');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /does not match/);
    await assertAccessible(page, 'mismatch');
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${patientId}`, key: service })).statusCode, 200, 'nothing erased');

    await typeInto(page, page.getByLabel('Reason', { exact: true }).first(), 'the reason', 'Art. 17(1)(a), asked in person, ID card seen');
    await typeInto(page, page.getByLabel('Type the patient id to confirm'), 'the confirmation', patientId);
    await tabTo(page, page.getByRole('button', { name: 'Erase patient' }), 'the erase button', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=erased$/);
    assert.match(await page.getByRole('status').first().innerText(), /was erased/);
    assert.ok((await page.getByRole('table', { name: 'Erasure records' }).innerText()).includes(`Patient/${patientId}`));
    await assertAccessible(page, 'after erasure');
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${patientId}`, key: service })).statusCode, 410);
    const [erased] = await t.app.audit.query('clinic', { count: 1, actions: ['privacy.erased'] });
    assert.equal(erased?.actor.role, 'tenant-admin');
    assert.deepEqual(refusals(), []);
  });
});
