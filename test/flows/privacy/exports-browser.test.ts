import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { createFhirValidator } from '../../../src/records/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { pdfToText, skipWithoutPdftotext } from '../../support/pdftotext.js';
import { portalWorld, weights, type PortalWorld } from '../console/portal-support.js';

type Bundle = { resourceType: string; type: string; entry: Array<{ resource: Record<string, any> }> };

/**
 * The patient's personal download in Chromium, by keyboard, under the strict CSP: Alice asks
 * for her data in the portal, waits while it is prepared (the page reloads itself), downloads
 * the FHIR Bundle and the PDF through the browser; the Bundle holds exactly her records (as
 * `$everything` lists them) and the PDF, read by poppler's pdftotext, her name and weights.
 */
describe('personal download in Chromium', { skip: skipWithoutChromium || skipWithoutPdftotext }, () => {
  let t: OAuthTestApp;
  let world: PortalWorld;
  let browser: Browser;

  before(async () => {
    t = await startOAuthApp('sqlite');
    world = await portalWorld(t);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  it('sign-in → Download my data → prepare → download the Bundle and the PDF; no CSP refusal, no serious axe finding', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/clinic/me/data`);
    await page.waitForURL(/\/account\/sign-in\?next=/);
    await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
    await page.keyboard.type('alice@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tenants\/clinic\/me\/data$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Download my data');
    await assertStyled(page, 'download page');
    await assertAccessible(page, 'download page');

    await tabTo(page, page.getByRole('button', { name: 'Prepare my download' }), 'the start button', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/me\/data\?done=started$/);
    // While it is prepared the page reloads itself (Refresh header); then the links appear.
    const bundleLink = page.getByRole('link', { name: 'Your records (FHIR R4 Bundle, JSON)' });
    await bundleLink.waitFor({ timeout: 60_000 });
    await assertAccessible(page, 'download ready');
    await screenshotForDocs(page, 'portal-download');

    await tabTo(page, bundleLink, 'the Bundle link', 40);
    const [bundleDownload] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.equal(bundleDownload.suggestedFilename(), 'records.json');
    const bundle = JSON.parse(readFileSync(await bundleDownload.path(), 'utf8')) as Bundle;
    createFhirValidator().validate(bundle, 'Bundle');
    assert.equal(bundle.type, 'collection');
    const everything = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${world.alice}/$everything?_count=1000`, key: world.key });
    const expected = (JSON.parse(everything.body) as Bundle).entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort();
    const got = bundle.entry.map((e) => `${e.resource['resourceType']}/${e.resource['id']}`).sort();
    assert.deepEqual(got, expected, 'exactly her records');
    assert.ok(!got.includes(`Patient/${world.bob}`));
    assert.ok(!JSON.stringify(bundle).includes('Becker'), 'nothing of Bob');

    const pdfLink = page.getByRole('link', { name: 'Summary (PDF)' });
    await tabTo(page, pdfLink, 'the PDF link', 10);
    const [pdfDownload] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.equal(pdfDownload.suggestedFilename(), 'summary.pdf');
    const text = await pdfToText(readFileSync(await pdfDownload.path()));
    assert.match(text, /Alice Schmidt/);
    for (const w of weights) assert.match(text, new RegExp(`\\b${String(w.kg).replace('.', '\\.')}\\b`), `the weight ${w.kg} kg`);
    assert.match(text, /\bkg\b/);
    assert.match(text, /Body weight/);
    assert.doesNotMatch(text, /Becker/);

    const downloads = await t.app.audit.query('clinic', { count: 10, actions: ['privacy.export_downloaded'] });
    assert.equal(downloads.length, 2, 'each download audited');
    assert.ok(downloads.every((e) => e.subjects.includes(`Patient/${world.alice}`)));

    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    assert.ok(!t.logs.some((line) => line.includes('Body weight') || line.includes('Schmidt')), 'no record contents in the logs');
    await context.close();
  });
});
