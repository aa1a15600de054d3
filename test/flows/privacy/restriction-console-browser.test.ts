import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { json, patient } from '../../support/harness.js';
import { personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The clinic admin restricts a patient's processing in the console (GDPR Art. 18), by keyboard
 * only: a form without a ground is refused in the page, the ground and an allowed role are chosen
 * with the keyboard, the restriction is listed with its ground in words, and lifting it asks for
 * confirmation first. axe finds nothing serious on any page; the CSP refuses nothing.
 */
describe('restrictions in the clinic console, in Chromium and by keyboard', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let adminSecret: string;
  let patientId: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    const service = await t.tenant('clinic');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    patientId = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key: service, body: patient({ name: [{ family: 'Einschränk', given: ['Erna'] }] }) }))['id'] as string;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('restrict (a refusal shown in the page first), see it listed, lift it after confirming; axe on every page', { timeout: 180_000 }, async () => {
    const { page, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    const code = await generate({ secret: adminSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
    await signInByKeyboard(page, { email: 'admin@clinic.example', password: testPassword, code });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);

    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Restrictions', exact: true }), 'the Restrictions section', 25);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/restrictions\/$/);
    await assertStyled(page, 'restrictions page');
    assert.match(await page.getByRole('status').first().innerText(), /No patient is restricted/);
    await assertAccessible(page, 'restrictions page');

    // Without a ground: refused in the page, the typed id kept.
    await typeInto(page, page.getByLabel('Patient id', { exact: true }), 'the patient id field', patientId);
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Choose why the processing is restricted/);
    assert.equal(await page.getByLabel('Patient id', { exact: true }).inputValue(), patientId);
    await assertAccessible(page, 'refused without a ground');

    // Ground (a) with Space, clinicians allowed besides the administrators, the request named.
    await tabTo(page, page.getByRole('radio', { name: /contests that their data is accurate/ }), 'the first ground', 40);
    await page.keyboard.press('Space');
    await tabTo(page, page.getByRole('checkbox', { name: 'Clinician', exact: true }), 'the clinician checkbox', 10);
    await page.keyboard.press('Space');
    await typeInto(page, page.getByLabel('Request id (optional)'), 'the request id', 'letter-2026-03');
    await tabTo(page, page.getByRole('button', { name: 'Restrict processing' }), 'the restrict button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=restricted$/);
    const listed = await page.getByRole('table', { name: 'Restricted patients' }).innerText();
    assert.ok(listed.includes(`Patient/${patientId}`));
    assert.match(listed, /contests that their data is accurate/);
    assert.match(listed, /Practice administrator, Clinician/);
    assert.match(listed, /letter-2026-03/);
    await assertAccessible(page, 'listed');
    await screenshotForDocs(page, 'console-restrictions');
    const [set] = await t.app.audit.query('clinic', { count: 1, actions: ['privacy.restricted'] });
    assert.equal(set?.actor.role, 'tenant-admin');
    assert.deepEqual(set?.subjects, [`Patient/${patientId}`]);

    // Lift: a confirmation page first, then the POST.
    await page.goto(`${t.base}/tenants/clinic/console/restrictions/`);
    await tabTo(page, page.getByRole('link', { name: `Lift Patient/${patientId}` }), 'the lift link', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/lift$/);
    assert.match(await page.locator('main').innerText(), /told the patient/);
    await assertAccessible(page, 'lift confirmation');
    await tabTo(page, page.getByRole('button', { name: 'Lift the restriction' }), 'the lift button', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=lifted$/);
    assert.match(await page.locator('main').innerText(), /No patient is restricted/);
    await assertAccessible(page, 'lifted');
    assert.equal((await t.app.audit.query('clinic', { count: 1, actions: ['privacy.restriction_lifted'] })).length, 1);
    assert.deepEqual(refusals(), []);
  });
});
