import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import type { Alert } from '../../../src/detection/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword, personWithTotp } from '../../support/people.js';

/**
 * The incident pages in Debian's Chromium, by keyboard, under the CSP: an operator opens an
 * incident from a platform alert, adds a task, moves it to contained and sends a customer
 * update; the clinic's admin finds it in the clinic console with the update and not the
 * operators' note, and adds a note of their own. axe-core on every page, in English and German.
 */
describe('incident pages in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let operatorSecret = '';
  let adminSecret = '';
  let alert: Alert;
  const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();
  const nextCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });


  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await t.tenant('clinic');
    operatorSecret = await personWithTotp(t, 'operators', 'operator', 'ops@hosting.example');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    alert = await t.app.alerts.raise('operators', 'auth.brute-force', { subject: 'Account/ops_0000000000000001', summary: '9 failed sign-ins within 10 minutes', severity: 'high' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an operator opens an incident from an alert, adds a task, contains it and sends a customer update; the clinic sees it', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode(operatorSecret) });
    await page.waitForURL(/\/platform\/console\/$/);
    await page.goto(`${base}/platform/console/alerts/${alert.id}`);
    await tabTo(page, page.getByRole('link', { name: 'Open an incident from this alert' }), 'the open-incident link', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/incidents\/new\?alert=/);
    assert.equal(await h1(page), 'Open an incident');
    await assertAccessible(page, 'new incident');
    await typeInto(page, page.getByLabel('Title'), 'the title', 'Brute force against an operator');
    await typeInto(page, page.getByLabel('Affected tenants'), 'the tenants', 'clinic');
    await typeInto(page, page.getByLabel('First note (optional)'), 'the note', 'operators only: VPN logs requested');
    await tabTo(page, page.getByRole('button', { name: 'Open incident' }), 'the open button', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/incidents\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1) as string;
    assert.equal(await h1(page), 'Brute force against an operator');
    await assertStyled(page, 'incident');
    const linked = page.getByRole('link', { name: /Brute force/ }).filter({ hasText: '9 failed sign-ins' });
    assert.equal(await linked.getAttribute('href'), `/platform/console/alerts/${alert.id}`);

    await typeInto(page, page.getByLabel('Task', { exact: true }), 'the task title', 'Rotate the operator’s password');
    await typeInto(page, page.getByLabel('Due (optional)'), 'the due time', new Date(Date.now() + 3 * 3_600_000).toISOString());
    await tabTo(page, page.getByRole('button', { name: 'Add task' }), 'add task', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=tasks$/);
    assert.match(await page.locator('main').innerText(), /Rotate the operator’s password — due in (2|3) h/);

    await tabTo(page, page.getByLabel('New state'), 'the state select', 60);
    await page.keyboard.press('Tab');
    await page.keyboard.type('Password reset, sessions ended');
    await tabTo(page, page.getByRole('button', { name: 'Change state' }), 'change state', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=state$/);
    assert.match(await page.locator('dl').innerText(), /contained/);

    await typeInto(page, page.getByLabel('Text for the affected tenants'), 'the update', 'We contained an attack on an operator account. Your data was not affected.');
    await tabTo(page, page.getByRole('button', { name: 'Send update' }), 'send update', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=updates$/);
    assert.equal(await page.getByRole('table', { name: 'Mail of customer updates, per recipient' }).getByRole('row').count(), 2, 'one delivery: the clinic’s admin');
    await assertAccessible(page, 'incident detail');
    await screenshotForDocs(page, 'operator-incident-detail');

    await page.goto(`${base}/platform/console/incidents/`);
    assert.equal(await page.getByRole('row').filter({ hasText: 'Brute force against an operator' }).count(), 1);
    await assertAccessible(page, 'incident list');
    await screenshotForDocs(page, 'operator-incidents');
    await page.goto(`${base}/platform/console/incidents/${id}?lang=de`);
    assert.match(await page.locator('main').innerText(), /Kundeninformation/);
    await assertAccessible(page, 'incident detail (German)');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();

    const clinic = await watchedPage(browser);
    await clinic.page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(clinic.page, { email: 'admin@clinic.example', password: testPassword, code: await nextCode(adminSecret) });
    await clinic.page.waitForURL(/\/tenants\/clinic\/console\/$/);
    await tabTo(clinic.page, clinic.page.getByRole('navigation').getByRole('link', { name: 'Incidents', exact: true }), 'the Incidents section', 30);
    await clinic.page.keyboard.press('Enter');
    await clinic.page.waitForURL(/\/tenants\/clinic\/console\/incidents\/$/);
    await assertAccessible(clinic.page, 'clinic incident list');
    await tabTo(clinic.page, clinic.page.getByRole('link', { name: 'Brute force against an operator' }), 'the incident', 40);
    await clinic.page.keyboard.press('Enter');
    await clinic.page.waitForURL(new RegExp(`/tenants/clinic/console/incidents/${id}$`));
    const main = await clinic.page.locator('main').innerText();
    assert.ok(main.includes('Your data was not affected.'), 'the customer update');
    assert.ok(!main.includes('VPN logs requested'), 'not the operators’ note');
    assert.ok(!main.includes('Rotate the operator’s password'), 'not the operators’ task');
    assert.equal(await clinic.page.getByRole('button', { name: 'Send update' }).count(), 0, 'customer updates are the operators’');
    await typeInto(clinic.page, clinic.page.getByLabel('Note', { exact: true }), 'the note', 'We told our staff.');
    await tabTo(clinic.page, clinic.page.getByRole('button', { name: 'Add note' }), 'add note', 10);
    await clinic.page.keyboard.press('Enter');
    await clinic.page.waitForURL(/\?done=notes$/);
    assert.match(await clinic.page.locator('main').innerText(), /We told our staff\./);
    await assertAccessible(clinic.page, 'clinic incident detail');
    await screenshotForDocs(clinic.page, 'clinic-incident-detail');
    assert.deepEqual(clinic.refusals(), []);
    await clinic.context.close();
  });
});
