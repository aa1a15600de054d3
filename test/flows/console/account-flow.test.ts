import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const chosen = 'nine amber kites over the harbour';
const changed = 'twelve silver trout leap upstream';

describe('account pages in Chromium, by keyboard, under the CSP', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  before(async () => {
    t = await startOAuthApp('sqlite');
    await t.tenant('clinic');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  it('invitation → password (rules while typing) → sign-in → enrolment with the QR code → recovery codes → console; sessions; password change', { timeout: 120_000 }, async () => {
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'flow@example.org', by: operator });
    const { page, context, refusals } = await watchedPage(browser);

    // The invitation link.
    await page.goto(`${t.base}/tenants/clinic/account/setup?token=${setupToken}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Choose your password');
    await assertStyled(page, 'setup page');
    const field = page.getByLabel('Password', { exact: true });
    await typeInto(page, field, 'the password field', 'nine amber');
    const rule = page.locator('#password-rules [data-rule=length]');
    assert.equal(await rule.getAttribute('data-met'), 'false', 'the length rule is not met yet, as you type');
    assert.equal(await page.locator('#password-rules .counter').innerText(), '10 of at least 15 characters');
    await page.keyboard.type(chosen.slice('nine amber'.length));
    assert.equal(await rule.getAttribute('data-met'), 'true', 'and then it is');
    await assertAccessible(page, 'setup page');
    await screenshotForDocs(page, 'account-setup');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/setup\?done=1$/);
    assert.ok(await page.getByText('Your password is set.').isVisible());
    await tabTo(page, page.getByRole('main').getByRole('link', { name: 'Sign in' }), 'the sign-in link');
    await page.keyboard.press('Enter');

    // Sign in: the policy asks staff for a second factor, so the security page comes first.
    await page.waitForURL(/\/account\/sign-in$/);
    await typeInto(page, page.getByLabel('Email address', { exact: true }), 'the email field', 'flow@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type(chosen);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/security\?enrol=1$/);
    assert.ok(await page.getByText('Your organisation requires a second factor').isVisible());
    await assertAccessible(page, 'security page (enrolment)');
    await typeInto(page, page.locator('#totp-password'), 'the password to start the enrolment', chosen);
    await page.keyboard.press('Enter');

    // The QR code page.
    await page.getByRole('heading', { level: 1, name: 'Set up your authenticator app' }).waitFor();
    assert.ok(await page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible());
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await assertAccessible(page, 'TOTP page');
    await screenshotForDocs(page, 'account-totp');
    await typeInto(page, page.getByLabel('Code from the app'), 'the code field', await generate({ secret, epoch: Math.floor(Date.now() / 1000) }));
    await page.keyboard.press('Enter');

    // The recovery codes, once, printable.
    await page.getByRole('heading', { level: 1, name: 'Your recovery codes' }).waitFor();
    const codes = await page.locator('#recovery-codes li').allInnerTexts();
    assert.equal(codes.length, 10);
    await assertAccessible(page, 'recovery codes page');
    await screenshotForDocs(page, 'account-recovery-codes');
    await page.evaluate('window.print = function () { document.body.setAttribute("data-printed", "yes"); }');
    await tabTo(page, page.getByRole('button', { name: 'Print the codes' }), 'the print button', 20);
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('body', 'data-printed'), 'yes', 'the button prints (a same-origin script)');
    await page.emulateMedia({ media: 'print' });
    assert.ok(await page.locator('#recovery-codes').isVisible(), 'the codes are printed');
    assert.ok(!(await page.locator('header.top').isVisible()) && !(await page.getByRole('button', { name: 'Print the codes' }).isVisible()), 'the rest is not');
    await page.emulateMedia({ media: 'screen' });
    await tabTo(page, page.getByRole('link', { name: 'Continue' }), 'the continue link', 3);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);

    // A second session elsewhere (the API, with a recovery code), ended from the sessions page.
    const post = (url: string, body: unknown, cookie = '') => t.inject({ method: 'POST', url: `/tenants/clinic${url}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(cookie === '' ? {} : { cookie }) } });
    const login = await post('/auth/login', { email: 'flow@example.org', password: chosen });
    const elsewhere = await post('/auth/second-factor', { ticket: (JSON.parse(login.body) as { ticket: string }).ticket, code: codes[0] });
    assert.equal(elsewhere.statusCode, 200);
    const otherCookie = String(elsewhere.headers['set-cookie']).split(';')[0] as string;
    await page.goto(`${t.base}/tenants/clinic/account/sessions`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Where you are signed in');
    assert.equal(await page.locator('tbody tr').count(), 2);
    await assertAccessible(page, 'sessions page');
    await screenshotForDocs(page, 'account-sessions');
    await tabTo(page, page.getByRole('button', { name: /^End session 2/ }), 'the other session’s button', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/sessions\?ended=1$/);
    assert.ok(await page.getByText('The session has ended.').isVisible());
    assert.equal(await page.locator('tbody tr').count(), 1);
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie: otherCookie } })).statusCode, 401, 'the other session is gone');

    // The password change.
    await page.goto(`${t.base}/tenants/clinic/account/security`);
    await typeInto(page, page.getByLabel('Current password'), 'the current password', chosen);
    await page.keyboard.press('Tab');
    await page.keyboard.type(changed);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/security\?done=password$/);
    assert.ok(await page.getByText('Your password is changed.').isVisible());
    await assertAccessible(page, 'security page');
    await screenshotForDocs(page, 'account-security');

    // In German.
    await page.goto(`${t.base}/tenants/clinic/account/security?lang=de`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Passwort und zweite Faktoren');
    await assertAccessible(page, 'security page (German)');
    await page.goto(`${t.base}/tenants/clinic/account/sessions`);
    await assertAccessible(page, 'sessions page (German)');

    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    const logged = t.logs.join('\n');
    for (const value of [setupToken, chosen, changed, secret, ...codes]) assert.ok(!logged.includes(value), 'no token, password, secret or code in the log');
    await context.close();
  });
});
