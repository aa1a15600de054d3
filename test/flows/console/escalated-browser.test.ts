import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import type { Alert } from '../../../src/detection/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The operators' tab of tenant alerts escalated to them, in Debian's Chromium, by keyboard,
 * under the CSP: from the platform alerts to the escalated list, one alert (its escalation, no
 * tenant events), acknowledged; the German page says the runbook is in English. axe-core on
 * every page. The clinic has nobody to tell, so its first escalation step reaches the operators.
 */
describe('escalated tenant alerts in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let operatorSecret = '';
  let escalated: Alert;
  const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();
  const nextCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

  async function operatorWithTotp(email: string): Promise<{ secret: string; id: string }> {
    const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.app.http.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = await post('/platform/auth/login', { email, password: testPassword });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
    const { secret } = JSON.parse((await post('/platform/auth/totp', { password: testPassword }, session)).body) as { secret: string };
    const confirmed = await post('/platform/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session);
    assert.equal(confirmed.statusCode, 200, 'setup: TOTP confirmed');
    return { secret, id: account.id };
  }

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await t.tenant('clinic');
    operatorSecret = (await operatorWithTotp('ops@hosting.example')).secret;
    escalated = await t.app.alerts.raise('clinic', 'access.emergency', { subject: 'Account/usr_0000000000000007', summary: 'Break-the-glass access to 3 patients.', severity: 'critical' });
    await t.app.escalation?.run('clinic');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an operator finds the escalated alert beside the platform alerts, opens it and acknowledges it by keyboard', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode(operatorSecret) });
    await page.waitForURL(/\/platform\/console\/$/);
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Alerts', exact: true }), 'the Alerts section', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/alerts\/$/);
    const tabs = page.getByRole('navigation', { name: 'Alert lists' });
    assert.equal(await tabs.getByRole('link', { name: 'Platform alerts' }).getAttribute('aria-current'), 'page');
    await tabTo(page, tabs.getByRole('link', { name: 'Escalated from tenants' }), 'the escalated tab', 30);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/platform\/console\/alerts\/escalated\/$/);
    assert.equal(await h1(page), 'Alerts escalated from tenants');
    await assertStyled(page, 'escalated alerts');
    const row = page.getByRole('row').filter({ hasText: 'Account/usr_0000000000000007' });
    assert.equal(await row.count(), 1);
    assert.match(await row.innerText(), /clinic/);
    await assertAccessible(page, 'escalated alerts');
    await screenshotForDocs(page, 'operator-escalated-alerts');

    await tabTo(page, row.getByRole('link'), 'the escalated alert', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/platform/console/alerts/escalated/clinic/${escalated.id}$`));
    const main = await page.locator('main').innerText();
    assert.match(main, /the platform operators/);
    assert.ok(!main.includes('access.emergency_granted'), 'no events of the tenant');
    const runbook = page.getByRole('link', { name: 'What to check and do for this rule' });
    assert.deepEqual([await runbook.getAttribute('href'), await runbook.getAttribute('hreflang')], ['/runbooks/access.emergency', 'en']);
    await assertAccessible(page, 'escalated alert');
    await screenshotForDocs(page, 'operator-escalated-alert-detail');
    await tabTo(page, page.getByRole('button', { name: 'Acknowledge' }), 'the acknowledge button', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=acknowledged$/);
    assert.equal(await page.getByRole('status').innerText(), 'The alert is acknowledged.');
    assert.equal(await page.getByRole('button', { name: 'Acknowledge' }).count(), 0);
    const stored = (await t.app.alerts.get('clinic', escalated.id)).alert;
    assert.equal(stored.state, 'acknowledged');
    assert.match(stored.acknowledgedBy ?? '', /^operator:/);
    await assertAccessible(page, 'acknowledged escalated alert');

    // German: the list and the alert; the runbook link says it is in English.
    await page.goto(`${base}/platform/console/alerts/escalated/?lang=de`);
    assert.equal(await h1(page), 'Von Mandanten eskalierte Warnmeldungen');
    await assertAccessible(page, 'escalated alerts (German)');
    await page.goto(`${base}/platform/console/alerts/escalated/clinic/${escalated.id}`);
    const german = page.getByRole('link', { name: 'Was bei dieser Regel zu prüfen und zu tun ist (englisch)' });
    assert.equal(await german.getAttribute('hreflang'), 'en');
    await assertAccessible(page, 'escalated alert (German)');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });
});
