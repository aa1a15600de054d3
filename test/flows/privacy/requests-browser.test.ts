import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { rectificationTag } from '../../../src/privacy/index.js';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { json, patient } from '../../support/harness.js';
import { person, personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * A rectification in Chromium, by keyboard, under the strict CSP: Erika signs in to the portal
 * and proposes her correct family name; the front desk finds the request in its queue with a
 * countdown, sees the current and the proposed name side by side and accepts; Erika's record
 * history then holds a version tagged as a rectification on request, and her portal shows the
 * request completed. No serious or critical axe finding on any page.
 */
describe('a rectification, from the portal to the console, in Chromium', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let key: string;
  let erika: string;
  let deskSecret: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    key = await t.tenant('clinic');
    erika = String(json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: 'Mustermann', given: ['Erika'] }] }) }))['id']);
    await person(t, 'clinic', 'patient', 'erika@example.org', { patient: `Patient/${erika}` });
    deskSecret = await personWithTotp(t, 'clinic', 'front-desk', 'desk@example.org');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the patient proposes, the front desk accepts, the history shows the tagged version', { timeout: 180_000 }, async () => {
    // 1. Erika, in her portal.
    const me = await watchedPage(browser);
    await me.page.goto(`${t.base}/tenants/clinic/account/sign-in?next=${encodeURIComponent('/tenants/clinic/me/')}`);
    await tabTo(me.page, me.page.getByLabel('Email address', { exact: true }), 'the email field');
    await me.page.keyboard.type('erika@example.org');
    await me.page.keyboard.press('Tab');
    await me.page.keyboard.type(testPassword);
    await me.page.keyboard.press('Enter');
    await me.page.waitForURL(/\/tenants\/clinic\/me\/$/);
    await tabTo(me.page, me.page.getByRole('navigation').getByRole('link', { name: 'My requests' }), 'the requests link', 20);
    await me.page.keyboard.press('Enter');
    await me.page.getByRole('heading', { level: 1, name: 'My requests' }).waitFor();
    await assertAccessible(me.page, 'portal requests (none yet)');
    // A radio group is one Tab stop; the arrow keys choose within it.
    await tabTo(me.page, me.page.getByRole('radio', { name: /\(access\)/ }), 'the choice of request', 40);
    await me.page.keyboard.press('ArrowDown');
    await me.page.keyboard.press('ArrowDown');
    assert.ok(await me.page.getByRole('radio', { name: /corrected \(rectification\)/ }).isChecked(), 'rectification chosen');
    await typeInto(me.page, me.page.getByLabel('Family name', { exact: true }), 'the family name field', 'Schmidt');
    await me.page.keyboard.press('Enter');
    await me.page.waitForURL(/\/me\/requests\?sent=1$/);
    assert.ok(await me.page.getByText('Your request was sent.').isVisible());
    const row = me.page.getByRole('row').filter({ hasText: 'rectification' });
    assert.match(await row.innerText(), /received/);
    assert.match(await row.innerText(), /due in 3[01] days/);
    await assertAccessible(me.page, 'portal requests');
    await screenshotForDocs(me.page, 'portal-requests');

    // 2. The front desk, in the console.
    const desk = await watchedPage(browser);
    await desk.page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(desk.page, { email: 'desk@example.org', password: testPassword, code: await generate({ secret: deskSecret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await desk.page.waitForURL(/\/tenants\/clinic\/console\/$/);
    await tabTo(desk.page, desk.page.getByRole('navigation').getByRole('link', { name: 'Privacy requests' }), 'the Privacy requests section', 20);
    await desk.page.keyboard.press('Enter');
    await desk.page.getByRole('heading', { level: 1, name: 'Privacy requests' }).waitFor();
    const queued = desk.page.getByRole('table', { name: 'Requests, soonest due first' }).getByRole('row').filter({ hasText: `Patient/${erika}` });
    assert.match(await queued.innerText(), /Rectification \(Art\. 16\)/);
    assert.match(await queued.innerText(), /due in 3[01] days/);
    await assertAccessible(desk.page, 'console request queue');
    await screenshotForDocs(desk.page, 'console-requests');
    await tabTo(desk.page, desk.page.getByRole('link', { name: 'Rectification (Art. 16)' }), 'the request', 40);
    await desk.page.keyboard.press('Enter');
    await desk.page.getByRole('heading', { level: 2, name: 'Proposed changes' }).waitFor();
    const name = desk.page.getByRole('table', { name: 'Proposed changes' }).getByRole('row').filter({ hasText: 'name' });
    assert.match(await name.innerText(), /Erika Mustermann/);
    assert.match(await name.innerText(), /Erika Schmidt/, 'the proposal as it will be stored');
    await assertAccessible(desk.page, 'console request with a proposal');
    await screenshotForDocs(desk.page, 'console-request');
    await typeInto(desk.page, desk.page.getByLabel('Note to the patient').first(), 'the acceptance note', 'Corrected as on your ID card');
    await tabTo(desk.page, desk.page.getByRole('button', { name: 'Accept and correct the record' }), 'the accept button', 5);
    await desk.page.keyboard.press('Enter');
    await desk.page.waitForURL(/\?changed=1$/);
    assert.ok(await desk.page.getByText('This request is closed.').isVisible());
    await assertAccessible(desk.page, 'console request completed');

    // 3. The record's history: a new version, tagged; the portal shows the request completed.
    const history = json(await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${erika}/_history`, key }));
    const newest = history['entry'][0]['resource'];
    assert.equal(newest['name'][0]['family'], 'Schmidt');
    assert.ok((newest['meta']['tag'] as Array<{ system: string; code: string }>).some((tag) => tag.system === rectificationTag.system && tag.code === rectificationTag.code));
    assert.deepEqual(newest['name'][0]['given'], ['Erika'], 'the given name stays: only the family name was corrected');
    assert.equal(history['entry'].length, 2);
    await me.page.reload();
    assert.match(await me.page.getByRole('row').filter({ hasText: 'rectification' }).innerText(), /completed/);

    assert.deepEqual(me.refusals(), [], 'the browser refused nothing in the portal');
    assert.deepEqual(desk.refusals(), [], 'nor in the console');
    assert.ok(!t.logs.some((line) => line.includes('Schmidt')), 'no record contents in the logs');
    await me.context.close();
    await desk.context.close();
  });
});
