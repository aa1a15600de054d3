import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import type { RopaDocument } from '../../../src/privacy/index.js';
import { dataRegister } from '../../../src/records/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { startTestApp, json, type TestApp } from '../../support/harness.js';
import { personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { pdfPages } from '../../support/pdf-text.js';
import { as, signIn, signInOperator, testPassword } from '../../support/people.js';

const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();

/**
 * The records of processing in the consoles: the clinic's page in Debian's Chromium by keyboard
 * under the CSP, axe on it, its PDF downloaded with the session; the operators' page and API; a
 * role without the section refused.
 */
describe('records of processing in the clinic console (Chromium)', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let adminSecret: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    await t.tenant('praxis-nord');
    await t.app.clients.create('praxis-nord', { name: 'Diary app', publisher: 'Diary GmbH', kind: 'public', redirectUris: ['https://diary.example.com/callback'], scope: 'openid patient/Observation.rs' }, 'cli:test');
    adminSecret = await personWithTotp(t, 'praxis-nord', 'tenant-admin', 'admin@praxis-nord.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the admin reaches the page by keyboard, reads every class and the app, and downloads the PDF; axe finds nothing grave', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/praxis-nord/account/sign-in`);
    await signInByKeyboard(page, { email: 'admin@praxis-nord.example', password: testPassword, code: await generate({ secret: adminSecret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await page.waitForURL(/\/tenants\/praxis-nord\/console\/$/);
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Records of processing', exact: true }), 'the records of processing section', 25);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/privacy\/$/);
    assert.equal(await h1(page), 'Records of processing');
    await assertStyled(page, 'records of processing');
    const main = await page.locator('main').innerText();
    for (const type of Object.keys(dataRegister)) assert.ok(main.includes(type), `the page names ${type}`);
    for (const word of ['health (Art. 9)', 'Diary app', 'diary.example.com', 'Technical and organisational measures', 'tenant-admin']) assert.ok(main.includes(word), `the page shows ${word}`);
    await assertAccessible(page, 'records of processing');
    await screenshotForDocs(page, 'console-records-of-processing');

    await tabTo(page, page.getByRole('link', { name: 'PDF', exact: true }), 'the PDF download', 40);
    const downloading = page.waitForEvent('download');
    await page.keyboard.press('Enter');
    const download = await downloading;
    const text = pdfPages(readFileSync(await download.path())).join('\n');
    assert.match(text, /praxis-nord/);
    assert.match(text, /health/);
    assert.deepEqual(refusals(), []);
    await context.close();
  });
});

describe('records of processing: the operators, and who else may see them', () => {
  let t: TestApp;
  const now = () => Date.now();
  before(async () => {
    t = await startTestApp('sqlite', {}, { clock: { now: () => new Date() } });
    await t.tenant('praxis-sued');
    // Sessions without a second factor for the page checks (the browser test above signs in with one).
    await t.app.tenants.setMfaPolicy('praxis-sued', 'optional');
  });
  after(async () => t.close());

  it('operators read the deployment’s record (API and page); a backup operator is refused', async () => {
    const operator = await signInOperator(t, 'operator', 'ops@hosting.example', now);
    const api = await as(t, operator, { method: 'GET', url: '/platform/privacy/ropa' });
    assert.equal(api.statusCode, 200, api.body);
    const doc = json<RopaDocument>(api);
    assert.equal(doc.scope, 'platform');
    assert.deepEqual(doc.controllers.map((c) => c.id), ['praxis-sued']);
    assert.equal(doc.processor.role, 'processor');
    const page = await as(t, operator, { method: 'GET', url: '/platform/console/privacy/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<h1[^>]*>Records of processing<\/h1>/);
    const backupOperator = await signInOperator(t, 'backup-operator', 'backups@hosting.example', now);
    assert.equal((await as(t, backupOperator, { method: 'GET', url: '/platform/privacy/ropa' })).statusCode, 403);
    const events = await t.app.audit.query('operators', { actions: ['ropa.generated'], count: 10 });
    assert.deepEqual(events.map((e) => e.detail).sort(), ['format=html', 'format=json']);
  });

  it('the page is in the German console with German headings; a clinician has no such section', async () => {
    const admin = await signIn(t, 'praxis-sued', 'tenant-admin', 'admin@praxis-sued.example');
    const de = await as(t, admin, { method: 'GET', url: '/tenants/praxis-sued/console/privacy/', headers: { 'accept-language': 'de-DE' } });
    assert.equal(de.statusCode, 200, de.body);
    assert.match(de.body, /Verzeichnis von Verarbeitungstätigkeiten/);
    assert.match(de.body, /Technische und organisatorische Maßnahmen/);
    assert.match(de.body, /href="\/tenants\/praxis-sued\/privacy\/ropa\?format=pdf&amp;lang=de"/);
    const clinician = await signIn(t, 'praxis-sued', 'clinician', 'doc@praxis-sued.example');
    const counted = json<RopaDocument>(await as(t, admin, { method: 'GET', url: '/tenants/praxis-sued/privacy/ropa' }));
    assert.equal(counted.dataSubjects.find((s) => s.category === 'staff')?.count, 2, 'the admin and the clinician, counted live');
    assert.equal((await as(t, clinician, { method: 'GET', url: '/tenants/praxis-sued/console/privacy/' })).statusCode, 403);
    assert.doesNotMatch((await as(t, clinician, { method: 'GET', url: '/tenants/praxis-sued/console/' })).body, /Records of processing/);
  });
});
