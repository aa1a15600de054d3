import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { createFhirValidator } from '../../../src/records/index.js';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { pdfToText, skipWithoutPdftotext } from '../../support/pdftotext.js';
import { portalWorld, weights, type PortalWorld } from '../console/portal-support.js';

type Bundle = { resourceType: string; type: string; entry: Array<{ resource: Record<string, any> }> };

/**
 * GDPR Art. 15 from the patient's side to the clinic's and back, in Chromium, by keyboard: Alice
 * asks for access to her data in the portal; the front desk finds the request in its queue and
 * fulfils it (which prepares her personal download and completes the request); Alice then
 * downloads the FHIR Bundle — which the FHIR R4 schema accepts and which holds exactly her
 * records, no one else's — and the PDF summary, in which poppler's pdftotext reads her name and
 * her measurements.
 */
describe('an access request answered with the personal download, in Chromium', { skip: skipWithoutChromium || skipWithoutPdftotext }, () => {
  let t: OAuthTestApp;
  let world: PortalWorld;
  let browser: Browser;
  let deskSecret: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    world = await portalWorld(t);
    deskSecret = await personWithTotp(t, 'clinic', 'front-desk', 'desk@example.org');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the patient asks, the front desk fulfils, the patient downloads exactly her records', { timeout: 240_000 }, async () => {
    // 1. Alice asks for access in her portal.
    const me = await watchedPage(browser);
    await me.page.goto(`${t.base}/tenants/clinic/me/requests`);
    await me.page.waitForURL(/\/account\/sign-in\?next=/);
    await tabTo(me.page, me.page.getByLabel('Email address', { exact: true }), 'the email field');
    await me.page.keyboard.type('alice@example.org');
    await me.page.keyboard.press('Tab');
    await me.page.keyboard.type(testPassword);
    await me.page.keyboard.press('Enter');
    await me.page.waitForURL(/\/tenants\/clinic\/me\/requests$/);
    await tabTo(me.page, me.page.getByRole('radio', { name: /\(access\)/ }), 'the choice of request', 40);
    await me.page.keyboard.press('Space');
    assert.ok(await me.page.getByRole('radio', { name: /\(access\)/ }).isChecked(), 'access chosen');
    await tabTo(me.page, me.page.getByRole('button', { name: 'Send the request' }), 'the send button', 30);
    await me.page.keyboard.press('Enter');
    await me.page.waitForURL(/\/me\/requests\?sent=1$/);
    assert.match(await me.page.getByRole('row').filter({ hasText: 'access' }).innerText(), /received/);

    // 2. The front desk fulfils it from the queue.
    const desk = await watchedPage(browser);
    await desk.page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(desk.page, { email: 'desk@example.org', password: testPassword, code: await generate({ secret: deskSecret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await desk.page.waitForURL(/\/tenants\/clinic\/console\/$/);
    await desk.page.goto(`${t.base}/tenants/clinic/console/requests/`);
    await tabTo(desk.page, desk.page.getByRole('link', { name: 'Access (Art. 15)' }), 'the request', 40);
    await desk.page.keyboard.press('Enter');
    await tabTo(desk.page, desk.page.getByRole('button', { name: 'Fulfil (prepare the answer and complete)' }), 'the fulfil button', 40);
    await desk.page.keyboard.press('Enter');
    await desk.page.waitForURL(/\?changed=1$/);
    // The download is being prepared: the request stays open until it is ready.
    assert.ok(await desk.page.getByText(/is being prepared; the request completes by itself when it is ready/).isVisible());
    await assertAccessible(desk.page, 'request being fulfilled');
    await t.app.subjectExports.idle();
    await desk.page.reload();
    assert.ok(await desk.page.getByText('This request is closed.').isVisible(), 'completed once the download was ready');
    await assertAccessible(desk.page, 'request fulfilled');
    await screenshotForDocs(desk.page, 'console-privacy-request');
    // Staff see that a download was prepared, never a link to it.
    assert.equal(await desk.page.getByRole('link', { name: /Bundle|PDF/ }).count(), 0);

    // 3. Alice downloads her data.
    await me.page.goto(`${t.base}/tenants/clinic/me/data`);
    const bundleLink = me.page.getByRole('link', { name: 'Your records (FHIR R4 Bundle, JSON)' });
    await bundleLink.waitFor({ timeout: 60_000 });
    await assertAccessible(me.page, 'download ready');
    await tabTo(me.page, bundleLink, 'the Bundle link', 40);
    const [bundleDownload] = await Promise.all([me.page.waitForEvent('download'), me.page.keyboard.press('Enter')]);
    const bundle = JSON.parse(readFileSync(await bundleDownload.path(), 'utf8')) as Bundle;
    createFhirValidator().validate(bundle, 'Bundle');
    const everything = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${world.alice}/$everything?_count=1000`, key: world.key });
    const expected = (JSON.parse(everything.body) as Bundle).entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort();
    assert.deepEqual(bundle.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort(), expected, 'exactly her records');
    assert.ok(!JSON.stringify(bundle).includes('Becker'), 'nothing of Bob');

    const pdfLink = me.page.getByRole('link', { name: 'Summary (PDF)' });
    await tabTo(me.page, pdfLink, 'the PDF link', 10);
    const [pdfDownload] = await Promise.all([me.page.waitForEvent('download'), me.page.keyboard.press('Enter')]);
    const text = await pdfToText(readFileSync(await pdfDownload.path()));
    assert.match(text, /Alice Schmidt/);
    for (const w of weights) assert.match(text, new RegExp(`\\b${String(w.kg).replace('.', '\\.')}\\b`), `the weight ${w.kg} kg`);
    assert.doesNotMatch(text, /Becker/);

    // The request names its answer; the download says which request it answers.
    const [started] = await t.app.audit.query('clinic', { count: 1, actions: ['privacy.export_started'] });
    assert.equal(started?.actor.role, 'front-desk');
    assert.deepEqual(me.refusals(), [], 'the browser refused nothing in the portal');
    assert.deepEqual(desk.refusals(), [], 'nor in the console');
    await me.context.close();
    await desk.context.close();
  });
});
