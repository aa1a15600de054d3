import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { generateBackupKey } from '../../../src/backup/index.js';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { personWithTotp, testPassword } from '../../support/people.js';

/**
 * The backups page with two regions, in Debian's Chromium, by keyboard: a backup operator picks
 * region B from the list of regions, sees B's snapshots and drill, and restores B's tenant from
 * B's snapshot after typing its id. axe-core on every page.
 */
describe('backups of every region in the operator console, in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let dirB: string;
  let repoA: string;
  let repoB: string;
  let browser: Browser;
  let secret = '';

  before(async () => {
    dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
    repoA = mkdtempSync(join(tmpdir(), 'tresor-repo-a-'));
    repoB = mkdtempSync(join(tmpdir(), 'tresor-repo-b-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp(
      'sqlite',
      { server: { publicUrl: base, port }, backup: { repository: repoA, key: generateBackupKey(), schedule: false }, regions: { b: { dataDir: dirB, label: 'Switzerland', backup: { repository: repoB, key: generateBackupKey() } } } },
      { clock: { now: () => new Date() } },
    );
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await t.app.tenants.create('bravo', 'Bravo', 'b');
    const key = await t.key('bravo', 'service');
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/bravo/fhir/Patient', key, body: patient() })).statusCode, 201);
    const inB = t.app.regionBackups.region('b');
    const run = await inB.run({ reason: 'test' });
    await inB.verify(run.manifest.id);
    await inB.drill();
    await t.app.backups.run({ reason: 'test' });
    secret = await personWithTotp(t, 'operators', 'backup-operator', 'backups@hosting.example');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    for (const dir of [dirB, repoA, repoB]) rmSync(dir, { recursive: true, force: true });
  });

  it('picks region B, sees its snapshots and drill, and restores its tenant from them', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'backups@hosting.example', password: testPassword, code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) });
    await page.waitForURL(/\/platform\/console\/$/);
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Backups', exact: true }), 'the Backups link', 30);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Backups' }).waitFor();
    const regions = page.getByRole('navigation', { name: /^Regions/ });
    assert.equal(await regions.getByRole('link', { name: 'default' }).getAttribute('aria-current'), 'page', 'the home region first');
    assert.equal(await page.getByRole('link', { name: /^Restore one tenant…/ }).count(), 0, 'the home region’s snapshots hold no tenant but the operators');
    await assertAccessible(page, 'backups page, home region');

    await tabTo(page, regions.getByRole('link', { name: 'Switzerland (b)', exact: true }), 'region b', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?region=b$/);
    assert.equal(await page.getByRole('navigation', { name: /^Regions/ }).getByRole('link', { name: 'Switzerland (b)', exact: true }).getAttribute('aria-current'), 'page');
    assert.ok(await page.getByText('passed').isVisible(), 'region b’s drill passed');
    assert.ok(await page.getByRole('cell', { name: 'bravo' }).first().isVisible(), 'region b’s snapshot holds its tenant');
    await assertAccessible(page, 'backups page, region b');
    await screenshotForDocs(page, 'operator-backups-regions');

    await tabTo(page, page.getByRole('link', { name: /^Restore one tenant…/ }).first(), 'the restore link', 40);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Restore one tenant' }).waitFor();
    await assertAccessible(page, 'restore confirmation, region b');
    await tabTo(page, page.getByLabel('Type the tenant id to confirm'), 'the confirmation field', 40);
    await page.keyboard.type('bravo');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Tenant bravo restored to snapshot' }).waitFor({ timeout: 60_000 });
    assert.match(page.url(), /\?region=b&restored=bravo/);
    await assertAccessible(page, 'backups page after the restore');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });
});
