import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort, person, personWithTotp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The alert pages in Debian's Chromium, by keyboard, under the CSP: failed sign-ins past a
 * lowered threshold raise an alert; a tenant admin sees it counted in the navigation, opens it,
 * acknowledges it and resolves it with a note, and sets who is told when; an auditor does the
 * same with another; a clinician has no such section (403); an operator sees the platform's own
 * alerts. axe-core on every page, English and German.
 */
describe('alert pages in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let adminSecret = '';
  let auditorSecret = '';
  let clinicianSecret = '';
  let operatorSecret = '';
  let docAccount = '';
  let deskAccount = '';
  const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();
  const nextCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

  /** An operator with a password and TOTP enrolled through the JSON API; returns the TOTP secret. */
  async function operatorWithTotp(email: string): Promise<string> {
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.app.http.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = await post('/platform/auth/login', { email, password: testPassword });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
    const { secret } = JSON.parse((await post('/platform/auth/totp', { password: testPassword }, session)).body) as { secret: string };
    const confirmed = await post('/platform/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session);
    assert.equal(confirmed.statusCode, 200, 'setup: TOTP confirmed');
    return secret;
  }

  const failSignIns = async (email: string) => {
    for (let i = 0; i < 4; i += 1) {
      const response = await t.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: `not the password ${i}` }) });
      assert.equal(response.statusCode, 401);
    }
  };

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { rules: { 'auth.brute-force': { failures: 3 } } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await t.tenant('clinic');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    auditorSecret = await personWithTotp(t, 'clinic', 'auditor', 'auditor@clinic.example');
    clinicianSecret = await personWithTotp(t, 'clinic', 'clinician', 'doc@clinic.example');
    docAccount = (await t.app.accounts.list('clinic')).find((a) => a.email === 'doc@clinic.example')?.id as string;
    deskAccount = (await person(t, 'clinic', 'front-desk', 'desk@clinic.example')).id;
    // Someone guesses two accounts' passwords: past the lowered threshold, two alerts.
    await failSignIns('doc@clinic.example');
    await failSignIns('desk@clinic.example');
    await t.app.detection?.evaluate('clinic');
    assert.equal((await t.app.alerts.list('clinic', { rule: 'auth.brute-force', state: 'open' })).length, 2, 'setup: two alerts raised');
    await t.app.alerts.raise('operators', 'platform.disk-space', { subject: 'disk:/var/lib/tresor', summary: 'The data directory has 4% free space left.' });
    operatorSecret = await operatorWithTotp('ops@hosting.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /**
   * The open alerts once the engine has seen every event so far (it also runs in the background,
   * woken by new events): the count the next page shows.
   */
  async function settledOpenAlerts(): Promise<number> {
    await t.app.detection?.evaluate('clinic');
    return (await t.app.alerts.list('clinic', { state: 'open' })).length;
  }

  /** Opens the alert about `account` from the list, by keyboard. */
  async function openAlertAbout(page: Page, account: string): Promise<void> {
    await tabTo(page, page.getByRole('row').filter({ hasText: `Account/${account}` }).getByRole('link'), `the alert about ${account}`, 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/alerts\/[0-9a-f-]{36}$/);
  }

  /** Acknowledges, then resolves with `note`, by keyboard, on the alert's page. */
  async function acknowledgeAndResolve(page: Page, note: string): Promise<void> {
    await tabTo(page, page.getByRole('button', { name: 'Acknowledge' }), 'the acknowledge button', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=acknowledged$/);
    assert.equal(await page.getByRole('status').innerText(), 'The alert is acknowledged.');
    await typeInto(page, page.getByLabel('Resolution note'), 'the note field', note);
    await tabTo(page, page.getByRole('button', { name: 'Resolve with this note' }), 'the resolve button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=resolved$/);
    assert.equal(await page.getByRole('status').innerText(), 'The alert is resolved.');
    assert.ok((await page.locator('main').innerText()).includes(note), 'the note is in the history');
  }

  it('a tenant admin sees the alert counted in the navigation, opens it, acknowledges, resolves with a note and sets who is told', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(page, { email: 'admin@clinic.example', password: testPassword, code: await nextCode(adminSecret) });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);
    const open = await settledOpenAlerts();
    assert.ok(open >= 2, 'both brute-force alerts are open');
    await page.reload();
    const navLink = page.getByRole('navigation').getByRole('link', { name: `Alerts (${open} open)` });
    await tabTo(page, navLink, 'the Alerts section with its count', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/alerts\/$/);
    assert.equal(await h1(page), 'Alerts');
    await assertStyled(page, 'alerts page');
    assert.match(await page.getByRole('region', { name: 'Not yet resolved, by severity' }).innerText(), /high: 2/);
    assert.equal(await page.getByRole('row').filter({ hasText: 'Brute force on an account' }).count(), 2);
    await assertAccessible(page, 'alerts page');
    await screenshotForDocs(page, 'console-alerts');

    // Filter by keyboard: resolved alerts only — none yet.
    await tabTo(page, page.getByLabel('State'), 'the state filter', 40);
    await page.keyboard.press('End');
    assert.equal(await page.getByLabel('State').inputValue(), 'resolved');
    await tabTo(page, page.getByRole('button', { name: 'Show alerts' }), 'the filter button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/state=resolved/);
    assert.equal(await page.getByRole('status').innerText(), 'No alert matches.');
    await page.goto(`${base}/tenants/clinic/console/alerts/`);

    await openAlertAbout(page, docAccount);
    assert.equal(await h1(page), 'Brute force on an account');
    const main = await page.locator('main').innerText();
    assert.match(main, /Many failed sign-ins/);
    assert.equal(await page.getByRole('table', { name: 'Linked events of the audit trail, oldest first' }).getByRole('row').filter({ hasText: 'auth.login_failed' }).count(), 4, 'the four failures');
    assert.equal(await page.getByRole('link', { name: 'What to check and do for this rule' }).getAttribute('href'), '/runbooks/auth.brute-force');
    assert.ok(!main.includes('not the password') && !main.includes('doc@clinic.example'), 'no typed password, no address');
    await assertAccessible(page, 'alert detail');
    await screenshotForDocs(page, 'console-alert-detail');
    await acknowledgeAndResolve(page, 'The doctor mistyped after leave; password reset, no other failures.');
    assert.match(await page.locator('main').innerText(), /Resolved by account:/);
    await assertAccessible(page, 'resolved alert');
    const resolved = (await t.app.alerts.list('clinic', { state: 'resolved' }))[0];
    assert.equal(resolved?.subject, `Account/${docAccount}`);
    assert.match(resolved?.resolvedBy ?? '', /^account:usr_/);

    // The runbook, from the alert.
    await tabTo(page, page.getByRole('link', { name: 'What to check and do for this rule' }), 'the runbook link', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/runbooks\/auth\.brute-force$/);
    assert.equal(await page.getByRole('heading', { level: 2, name: 'Contain' }).count(), 1);
    await assertAccessible(page, 'runbook');

    // The settings.
    const openAfter = await settledOpenAlerts();
    assert.equal(openAfter, open - 1, 'one fewer open alert');
    await page.goto(`${base}/tenants/clinic/console/alerts/`);
    assert.equal(await page.getByRole('navigation').getByRole('link', { name: `Alerts (${openAfter} open)` }).count(), 1, 'the count follows');
    await tabTo(page, page.getByRole('link', { name: 'Who is told, and when (settings)' }), 'the settings link', 60);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/alerts\/settings$/);
    assert.equal(await h1(page), 'Alert settings');
    await tabTo(page, page.getByLabel('Time zone'), 'the time zone', 40);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Europe/Berlin');
    await typeInto(page, page.getByLabel('Security contact (e-mail)'), 'the security contact', 'security@clinic.example');
    await assertAccessible(page, 'alert settings');
    await tabTo(page, page.getByRole('button', { name: 'Save settings' }), 'the save button', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/settings\?saved=1$/);
    assert.equal(await page.getByRole('status').innerText(), 'The settings are saved.');
    const settings = await t.app.alerts.settings('clinic');
    assert.deepEqual({ zone: settings.timeZone, contact: settings.securityContact }, { zone: 'Europe/Berlin', contact: 'security@clinic.example' });
    await screenshotForDocs(page, 'console-alert-settings');

    // German: the settings, the list and an alert.
    await tabTo(page, page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 60);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Einstellungen für Warnmeldungen' }).waitFor();
    await assertAccessible(page, 'alert settings (German)');
    // Other rules may have raised alerts about what the admin just did (a settings change): the count is the store's.
    const openNow = await settledOpenAlerts();
    await page.goto(`${base}/tenants/clinic/console/alerts/`);
    assert.equal(await h1(page), 'Warnmeldungen');
    assert.equal(await page.getByRole('navigation').getByRole('link', { name: `Warnmeldungen (${openNow} offen)` }).count(), 1);
    await assertAccessible(page, 'alerts page (German)');
    await page.goto(`${base}/tenants/clinic/console/alerts/${resolved?.id as string}`);
    assert.match(await page.locator('main').innerText(), /Erledigt von/);
    await assertAccessible(page, 'alert detail (German)');

    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });

  it('an auditor acknowledges and resolves the other alert', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(page, { email: 'auditor@clinic.example', password: testPassword, code: await nextCode(auditorSecret) });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);
    const openNow = await settledOpenAlerts();
    await page.reload();
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: `Alerts (${openNow} open)` }), 'the Alerts section', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/alerts\/$/);
    await openAlertAbout(page, deskAccount);
    await acknowledgeAndResolve(page, 'Front desk shared terminal, wrong user typed; no successful sign-in.');
    const trail = await t.app.audit.query('clinic', { count: 5, actions: ['alert.resolved'] });
    assert.equal(trail[0]?.actor.role, 'auditor');
    assert.ok((await t.app.audit.query('clinic', { count: 50, actions: ['audit.read'] })).some((e) => e.actor.role === 'auditor' && e.resources.some((r) => r.startsWith('Alert/'))), 'viewing alerts is in the trail');
    assert.deepEqual(refusals(), []);
    await context.close();
  });

  it('a clinician has no alerts in the navigation and is refused the pages (403)', { timeout: 120_000 }, async () => {
    const { page, context } = await watchedPage(browser);
    await page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(page, { email: 'doc@clinic.example', password: testPassword, code: await nextCode(clinicianSecret) });
    await page.waitForURL(/\/tenants\/clinic\/console\/$/);
    assert.equal(await page.getByRole('navigation').getByRole('link', { name: /^Alerts/ }).count(), 0);
    for (const path of ['', 'settings']) {
      const response = await page.goto(`${base}/tenants/clinic/console/alerts/${path}`);
      assert.equal(response?.status(), 403, path);
    }
    await assertAccessible(page, 'refusal page');
    await context.close();
  });

  it('an operator sees the platform’s own alerts', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode(operatorSecret) });
    await page.waitForURL(/\/platform\/console\/$/);
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Alerts', exact: true }), 'the Alerts section', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/alerts\/$/);
    assert.equal(await h1(page), 'Alerts');
    const rows = page.getByRole('row');
    assert.equal(await rows.filter({ hasText: 'disk:/var/lib/tresor' }).count(), 1);
    assert.equal(await rows.filter({ hasText: docAccount }).count() + (await rows.filter({ hasText: deskAccount }).count()), 0, 'no clinic alert');
    await assertAccessible(page, 'operator alerts');
    await screenshotForDocs(page, 'operator-alerts');
    await tabTo(page, rows.filter({ hasText: 'disk:/var/lib/tresor' }).getByRole('link'), 'the disk alert', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/alerts\/[0-9a-f-]{36}$/);
    await assertAccessible(page, 'operator alert detail');
    await acknowledgeAndResolve(page, 'Old snapshots moved off the data disk; 40% free.');
    assert.deepEqual(refusals(), []);
    await context.close();
  });
});
