import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { generate } from 'otplib';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { personWithTotp, testPassword } from '../../support/people.js';

/**
 * The operator console's "Move to another region" in Chromium, by keyboard, under the CSP: with
 * two regions the tenants list offers Move…, the page asks where to, why, and the tenant's id
 * typed again; a wrong id is refused on the page, the right one moves the tenant and shows the
 * result. axe-core on every page.
 */
describe('operator console: moving a tenant to another region in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let ch: string;
  let base = '';
  let browser: Browser;
  let secret = '';

  before(async () => {
    ch = mkdtempSync(join(tmpdir(), 'tresor-region-ch-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, regions: { ch: { dataDir: ch, label: 'Switzerland', location: 'Zürich, CH' } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    const key = await t.tenant('clinic');
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
    secret = await personWithTotp(t, 'operators', 'operator', 'ops@hosting.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    rmSync(ch, { recursive: true, force: true });
  });

  it('Move… → where, why, the id typed again → moved, the result shown', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    // The next period's code: the current one was spent enrolling.
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await page.waitForURL(/\/platform\/console\/$/);
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Tenants', exact: true }), 'the Tenants link', 30);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
    await assertAccessible(page, 'tenants page with two regions');

    await tabTo(page, page.getByRole('link', { name: 'Move tenant clinic' }), 'the Move… link', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Move tenant clinic' }).waitFor();
    await assertAccessible(page, 'move page');
    assert.equal(await page.getByLabel('Move to region').inputValue(), 'ch', 'the only other region is offered');
    assert.equal(await page.getByLabel('Move to region').locator('option:checked').innerText(), 'Switzerland (ch)', 'by its label and name');
    await tabTo(page, page.getByLabel('Reason'), 'the reason field', 40);
    await page.keyboard.type('customer chose Switzerland');
    await page.keyboard.press('Tab');
    await page.keyboard.type('clinix');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'nothing was moved' }).waitFor();
    await assertAccessible(page, 'move page with its error');
    await screenshotForDocs(page, 'operator-tenant-move');
    assert.equal((await t.app.tenants.get('clinic'))?.region, 'default', 'a wrong id moves nothing');

    await tabTo(page, page.getByLabel('Tenant id, to confirm'), 'the confirmation field', 40);
    await page.keyboard.type('clinic');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Tenant moved: clinic (default → ch)' }).waitFor({ timeout: 60_000 });
    await assertAccessible(page, 'move result');
    assert.ok(await page.getByText('region ch has no backup repository configured').isVisible(), 'the backup afterwards is reported');
    await screenshotForDocs(page, 'operator-tenant-moved');
    assert.equal((await t.app.tenants.get('clinic'))?.region, 'ch');
    assert.ok(existsSync(join(ch, 'tenants', 'clinic.db')));
    assert.ok(!existsSync(join(t.dataDir, 'tenants', 'clinic.db')));

    // In German too.
    await page.goto(`${base}/platform/console/tenants/clinic/move?lang=de`);
    await page.getByRole('heading', { level: 1, name: 'Mandant umziehen: clinic' }).waitFor();
    await assertAccessible(page, 'move page (German)');
    assert.equal(await page.getByLabel('Umziehen in Region').inputValue(), 'default');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });
});
