import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { portalWorld } from './portal-support.js';

/**
 * The patient's flow in Chromium, by keyboard, under the strict CSP: a clinician has just read
 * Alice's weight over the API; Alice signs in, sees her weight as a chart with unit and dates,
 * and finds the clinician's access (name and role) and her own reads in "who accessed my data".
 */
describe('patient portal in Chromium', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;

  before(async () => {
    t = await startOAuthApp('sqlite');
    await portalWorld(t);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  it('sign-in → my records (weight chart) → who accessed my data, in English and German; no CSP refusal, no serious axe finding', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/clinic/me/`);
    // Not signed in: the sign-in page, and back to the portal after.
    await page.waitForURL(/\/account\/sign-in\?next=/);
    await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
    await page.keyboard.type('alice@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tenants\/clinic\/me\/$/);

    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'My records');
    const chart = page.getByRole('img', { name: /Body weight/ });
    assert.ok(await chart.isVisible(), 'the weight chart');
    const description = await page.locator('figure.chart figcaption').first().innerText();
    assert.match(description, /Body weight \(kg\): 78\.6–80\.2 kg, 3 × /, 'unit, range and count in the text alternative');
    assert.match(description, /\d{1,2} [A-Z][a-z]{2} \d{4}/, 'with dates in the reader’s locale');
    assert.ok(await page.getByRole('heading', { level: 3, name: 'Body weight (kg)' }).isVisible());
    await assertStyled(page, 'portal records');
    await assertAccessible(page, 'portal records');
    await screenshotForDocs(page, 'portal-records');

    // The values behind the chart, by keyboard: the disclosure opens its table.
    await tabTo(page, page.getByText('The values of this chart: Body weight'), 'the values of the chart', 40);
    await page.keyboard.press('Enter');
    assert.ok(await page.getByRole('table', { name: 'Body weight' }).getByRole('cell', { name: '78.6' }).isVisible(), 'the chart’s values as a table');

    // All measurements: the range links.
    await tabTo(page, page.getByRole('link', { name: 'All', exact: true }), 'the range “All”', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/range=all$/);
    assert.match(await page.locator('figure.chart figcaption').first().innerText(), /4 × /);

    await tabTo(page, page.getByRole('link', { name: 'Who accessed my data' }), 'the access log link', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/me\/access$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Who accessed my data');
    const log = page.getByRole('table', { name: 'Accesses to your records, newest first' });
    const clinicianRow = log.getByRole('row').filter({ hasText: 'Dr. Erika Mustermann' });
    assert.equal(await clinicianRow.count(), 1, 'the clinician’s read, once');
    assert.match(await clinicianRow.innerText(), /Clinician/);
    assert.match(await clinicianRow.innerText(), /opened: measurements and results/);
    assert.match(await clinicianRow.innerText(), /Treatment/);
    assert.ok((await log.getByRole('row').filter({ hasText: 'You' }).count()) >= 5, 'Alice’s own reads (the portal’s) marked as “You”');
    await assertAccessible(page, 'portal access log');
    await screenshotForDocs(page, 'portal-access');

    await tabTo(page, page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Wer hat meine Daten gesehen' }).waitFor();
    assert.ok(await page.getByText('Dr. Erika Mustermann').isVisible());
    assert.ok(await page.getByText('(Ärztin/Arzt)').isVisible());
    await assertAccessible(page, 'portal access log (German)');
    await page.goto(`${t.base}/tenants/clinic/me/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Meine Daten');
    await assertAccessible(page, 'portal records (German)');

    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    assert.ok(!t.logs.some((line) => line.includes(testPassword)), 'the password is never logged');
    assert.ok(!t.logs.some((line) => line.includes('78.6') || line.includes('Mustermann')), 'no record contents in the logs');
    await context.close();
  });
});
