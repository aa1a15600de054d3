import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { generateBackupKey } from '../../../src/backup/index.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The operator console in Debian's Chromium, by keyboard, under the CSP: a platform operator
 * signs in with two factors, creates a tenant, reads the keys and health pages; a backup
 * operator sees the backups (a local repository with one verified snapshot and a drill) and
 * restores one tenant after typing its id, and is refused the tenants page. axe-core on every page.
 */
describe('operator console in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let repository: string;
  let browser: Browser;

  /** An operator with a password and TOTP enrolled through the JSON API; returns the TOTP secret. */
  async function operatorWithTotp(role: 'operator' | 'backup-operator', email: string): Promise<string> {
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role, email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.app.http.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = await post('/platform/auth/login', { email, password: testPassword });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
    const { secret } = JSON.parse((await post('/platform/auth/totp', { password: testPassword }, session)).body) as { secret: string };
    const confirmed = await post('/platform/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session);
    assert.equal(confirmed.statusCode, 200, 'setup: TOTP confirmed');
    return secret;
  }

  /** Signs in through the operators' pages by keyboard: password, then the next period's TOTP code (the current one was spent enrolling). */
  async function signIn(page: Page, email: string, secret: string): Promise<void> {
    await page.goto(`${base}/platform/account/sign-in`);
    await assertAccessible(page, 'operators’ sign-in');
    await signInByKeyboard(page, { email, password: testPassword, code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await page.waitForURL(/\/platform\/console\/$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Operator console');
  }

  /** Follows a navigation link by keyboard and waits for its page. */
  async function viaNav(page: Page, label: string, heading: string): Promise<void> {
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: label, exact: true }), `the ${label} link`, 30);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  let operatorSecret = '';
  let backupSecret = '';
  before(async () => {
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, backup: { repository, key: generateBackupKey(), schedule: false } }, { clock: { now: () => new Date() }, rotationOptions: { settleMs: 50 } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    const key = await t.tenant('clinic');
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
    // One snapshot, verified, and a restore drill: the page has RTO and RPO to show.
    const run = await t.app.backups.run({ reason: 'test' });
    await t.app.backups.verify(run.manifest.id);
    await t.app.backups.drill();
    // A finished key rotation: the keys page shows a job and its progress.
    const rotated = await t.app.rotation.start('tenant', 'clinic');
    await t.app.rotation.run(rotated.job.id);
    operatorSecret = await operatorWithTotp('operator', 'ops@hosting.example');
    backupSecret = await operatorWithTotp('backup-operator', 'backups@hosting.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    rmSync(repository, { recursive: true, force: true });
  });

  it('a platform operator: two factors → tenants (creates one) → keys → health, in English and German', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await signIn(page, 'ops@hosting.example', operatorSecret);
    await assertStyled(page, 'operator console');
    await assertAccessible(page, 'operator console home');
    assert.equal(await page.getByRole('navigation').getByRole('link', { name: 'Backups' }).count(), 0, 'a platform operator is not offered the backups');

    await viaNav(page, 'Tenants', 'Tenants');
    await assertAccessible(page, 'tenants page');
    await tabTo(page, page.getByLabel('Id', { exact: true }), 'the new tenant’s id', 40);
    await page.keyboard.type('hamburg');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Praxis Hamburg');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Tenant created: hamburg' }).waitFor();
    assert.ok(await page.getByRole('row', { name: /hamburg/ }).isVisible(), 'the new tenant is listed');
    assert.equal((await t.app.tenants.get('hamburg'))?.name, 'Praxis Hamburg');
    await assertAccessible(page, 'tenants page after create');
    await screenshotForDocs(page, 'operator-tenants');

    await viaNav(page, 'Keys', 'Keys');
    await assertAccessible(page, 'keys page');
    assert.ok(await page.getByRole('row', { name: /clinic/ }).first().isVisible(), 'the tenant’s key versions');
    assert.equal(await page.getByRole('progressbar').first().getAttribute('value'), '100', 'the finished rotation at 100 %');
    await screenshotForDocs(page, 'operator-keys');

    await viaNav(page, 'Health', 'Health');
    assert.ok(await page.getByText('ready', { exact: true }).isVisible());
    await assertAccessible(page, 'health page');
    await screenshotForDocs(page, 'operator-health');

    await tabTo(page, page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Zustand' }).waitFor();
    await assertAccessible(page, 'health page (German)');

    const backups = await page.goto(`${base}/platform/console/backups/`);
    assert.equal(backups?.status(), 403, 'the backups page refuses a platform operator');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });

  it('a backup operator: backups with RTO/RPO, restores one tenant after typing its id; the tenants page is refused', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await signIn(page, 'backups@hosting.example', backupSecret);
    assert.equal(await page.getByRole('navigation').getByRole('link', { name: 'Tenants' }).count(), 0, 'a backup operator is not offered the tenants');
    await viaNav(page, 'Backups', 'Backups');
    assert.ok(await page.getByText('Recovery time (RTO) of the last drill').isVisible());
    assert.ok(await page.getByText('passed').isVisible(), 'the drill passed');
    await assertAccessible(page, 'backups page');
    await screenshotForDocs(page, 'operator-backups');

    await tabTo(page, page.getByRole('link', { name: /^Restore one tenant…/ }).first(), 'the restore link', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Restore one tenant' }).waitFor();
    await assertAccessible(page, 'restore confirmation');
    await tabTo(page, page.getByLabel('Type the tenant id to confirm'), 'the confirmation field', 40);
    await page.keyboard.type('clinix');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'nothing was restored' }).waitFor();
    await assertAccessible(page, 'restore confirmation with its error');
    const field = page.getByLabel('Type the tenant id to confirm');
    await field.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('clinic');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Tenant clinic restored to snapshot' }).waitFor({ timeout: 60_000 });

    const tenants = await page.goto(`${base}/platform/console/tenants/`);
    assert.equal(tenants?.status(), 403, 'the tenants page refuses a backup operator');
    await assertAccessible(page, 'refusal page');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    assert.ok(!t.logs.some((line) => line.includes(testPassword)), 'the password is never logged');
    await context.close();
  });
});
