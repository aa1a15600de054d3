import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { invitationMessage } from '../../../src/identity/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { person, personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };


const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();

describe('clinic console in Chromium: the tenant admin manages staff, apps and settings by keyboard', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let adminSecret: string;
  const spoken: string[] = [];

  before(async () => {
    t = await startOAuthApp('sqlite');
    await t.tenant('clinic');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    await personWithTotp(t, 'clinic', 'clinician', 'lost-phone@clinic.example');
    await person(t, 'clinic', 'billing', 'billing@clinic.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('invite, role change, second-factor reset, app with its secret once, MFA policy; axe on every page; no CSP refusal', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });

    // Sign in with password and TOTP, by keyboard.
    await page.goto(`${t.base}/tenants/clinic/account/sign-in`);
    // The next period's code: the current one was spent confirming the enrolment.
    const code = await generate({ secret: adminSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
    spoken.push(code);
    await signInByKeyboard(page, { email: 'admin@clinic.example', password: testPassword, code });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);

    // Staff list.
    await tabTo(page, nav('Staff'), 'the Staff section', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/staff\/$/);
    assert.equal(await h1(page), 'Staff and invitations');
    await assertStyled(page, 'staff page');
    const rows = page.getByRole('row');
    assert.ok((await rows.filter({ hasText: 'lost-phone@clinic.example' }).innerText()).includes('yes'), 'the list says who has a second factor');
    await assertAccessible(page, 'staff page');
    await screenshotForDocs(page, 'console-staff');

    // Invite a clinician: a role beyond the admin's reach, so it waits for an operator.
    await tabTo(page, page.getByRole('link', { name: 'Invite someone' }), 'the invite link', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/staff\/invite$/);
    await typeInto(page, page.getByLabel('Email address', { exact: true }), 'the email field', 'new-doc@clinic.example');
    assert.equal(await page.getByLabel('Role', { exact: true }).inputValue(), 'clinician');
    await assertAccessible(page, 'invite page');
    await screenshotForDocs(page, 'console-invite');
    await tabTo(page, page.getByRole('button', { name: 'Send invitation' }), 'the send button', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/staff\/\?done=pending$/);
    assert.match(await page.getByRole('status').innerText(), /once a platform operator approves it/);
    const invited = (await t.app.accounts.list('clinic')).find((a) => a.email === 'new-doc@clinic.example');
    assert.equal(invited?.status, 'invited');
    assert.equal((await t.app.outbox.list('clinic')).filter((m) => m.accountId === invited?.id).length, 0, 'no link before approval');
    // The operator approves (what `tresor user approve` does); the link comes through the outbox.
    const { account, setupToken } = await t.app.accounts.reinvite({ tenantId: 'clinic', accountId: invited?.id as string, context: { by: operator } });
    await t.app.notifier.send(invitationMessage(account, setupToken, t.base));
    const message = (await t.app.outbox.list('clinic')).find((m) => m.accountId === invited?.id);
    const token = /^([A-Za-z0-9_-]{43})$/m.exec(message?.text ?? '')?.[1];
    assert.ok(token !== undefined, 'the invitation carries its setup code');
    spoken.push(token);
    const setup = await t.inject({ method: 'POST', url: '/tenants/clinic/auth/setup', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'a long new password for the doctor' }) });
    assert.equal(setup.statusCode, 200, 'the invited clinician chose a password with it');

    // Change a role: billing becomes a second tenant-admin (within the admin's own reach).
    await page.goto(`${t.base}/tenants/clinic/console/staff/`);
    await tabTo(page, page.getByRole('link', { name: 'Manage: billing@clinic.example' }), 'the billing person', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'billing@clinic.example' }).waitFor();
    await assertAccessible(page, 'person page');
    await screenshotForDocs(page, 'console-staff-person');
    await tabTo(page, page.getByLabel('New role'), 'the role field', 40);
    await page.keyboard.type('tenant-admin');
    assert.equal(await page.getByLabel('New role').inputValue(), 'tenant-admin');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=role$/);
    assert.match(await page.getByRole('status').innerText(), /Role changed/);
    assert.equal((await t.app.accounts.list('clinic')).find((a) => a.email === 'billing@clinic.example')?.role, 'tenant-admin');

    // Reset a lost second factor, with a reason, after a confirmation step.
    await page.goto(`${t.base}/tenants/clinic/console/staff/`);
    await tabTo(page, page.getByRole('link', { name: 'Manage: lost-phone@clinic.example' }), 'the clinician', 40);
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByRole('link', { name: 'Reset second factor…' }), 'the reset link', 40);
    await page.keyboard.press('Enter');
    assert.equal(await h1(page), 'Reset this person’s second factor?');
    await assertAccessible(page, 'reset confirmation');
    await screenshotForDocs(page, 'console-staff-reset');
    await typeInto(page, page.getByLabel('Reason (goes into the audit trail)'), 'the reason field', 'lost phone, identity checked in person');
    await tabTo(page, page.getByRole('button', { name: 'Reset second factor' }), 'the reset button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=reset$/);
    assert.equal((await t.app.accounts.list('clinic')).find((a) => a.email === 'lost-phone@clinic.example')?.secondFactor, false);
    const removed = (await t.app.audit.query('clinic', { count: 1, actions: ['auth.mfa_removed'] }))[0];
    assert.equal(removed?.detail, 'by-administrator; reason: lost phone, identity checked in person');

    // Register an app and see its secret once.
    await tabTo(page, nav('Apps'), 'the Apps section', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/apps\/$/);
    await tabTo(page, page.getByRole('link', { name: 'Register an app' }), 'the register link', 30);
    await page.keyboard.press('Enter');
    await typeInto(page, page.getByLabel('Name', { exact: true }), 'the name field', 'Sleep Diary');
    await typeInto(page, page.getByLabel('Publisher', { exact: true }), 'the publisher field', 'Example Health GmbH');
    await typeInto(page, page.getByLabel('Redirect URIs'), 'the redirect URIs', 'https://sleep.example/callback');
    await typeInto(page, page.getByLabel('Scopes', { exact: true }), 'the scopes', 'openid fhirUser launch/patient patient/Observation.rs');
    await assertAccessible(page, 'register app page');
    await tabTo(page, page.getByRole('button', { name: 'Register app' }), 'the register button', 10);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'The app’s secret' }).waitFor();
    const secret = await page.getByLabel('Client secret').inputValue();
    assert.ok(secret.length >= 40, 'the secret is shown');
    spoken.push(secret);
    assert.match(await page.locator('main').innerText(), /shown only this once/);
    await assertAccessible(page, 'secret page');
    await screenshotForDocs(page, 'console-app-secret');
    await tabTo(page, page.getByRole('link', { name: 'I have copied it — back to apps' }), 'the way back', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/apps\/$/);
    assert.match(await page.locator('main').innerText(), /Sleep Diary/);
    assert.ok(!(await page.content()).includes(secret), 'the list never shows the secret');
    await assertAccessible(page, 'apps page');
    await screenshotForDocs(page, 'console-apps');

    // The MFA policy: everyone.
    await tabTo(page, nav('Settings'), 'the Settings section', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/settings\/$/);
    await tabTo(page, page.getByRole('radio', { name: /Staff only/ }), 'the current policy', 30);
    await page.keyboard.press('ArrowUp');
    assert.ok(await page.getByRole('radio', { name: /Everyone/ }).isChecked(), 'the arrow key chose “Everyone”');
    await tabTo(page, page.getByRole('button', { name: 'Save setting' }), 'the save button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=saved$/);
    assert.equal(await t.app.tenants.mfaPolicy('clinic'), 'everyone');
    await assertAccessible(page, 'settings page');
    await screenshotForDocs(page, 'console-settings');

    // German, once per page kind that matters most: settings and staff.
    await tabTo(page, page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Einstellungen' }).waitFor();
    await assertAccessible(page, 'settings page (German)');
    await page.goto(`${t.base}/tenants/clinic/console/staff/`);
    assert.equal(await h1(page), 'Mitarbeitende und Einladungen');
    await assertAccessible(page, 'staff page (German)');

    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    for (const value of [...spoken, testPassword]) assert.ok(!t.logs.some((line) => line.includes(value)), 'no code, token, secret or password in the log');
    await context.close();
  });
});
