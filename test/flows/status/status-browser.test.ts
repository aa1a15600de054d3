import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generateBackupKey } from '../../../src/backup/index.js';
import { assertAccessible, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, watchedPage, type WatchedPage } from '../../support/chromium.js';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { as, signInOperator } from '../../support/people.js';
import { stopDatabase } from './stop-database.js';

/**
 * The public status page in Debian's Chromium, under its CSP, without signing in: a backup
 * schedule that stopped shows as degraded, maintenance and a security notice from the operators'
 * API and an incident's update show on the page and in both feeds (parsed as XML by the
 * browser), axe-core finds nothing serious, the keyboard reaches everything, and with the
 * database stopped the page still answers and says so.
 */
describe('status page in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  const scratch = mkdtempSync(join(tmpdir(), 'tresor-status-browser-'));
  let now = Date.parse('2026-05-04T08:00:00Z');
  const clock = { now: () => new Date((now += 1)) };

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, backup: { repository: join(scratch, 'repo'), key: generateBackupKey(), schedule: true, everyMinutes: 15 }, security: { contact: ['mailto:security@example.org'] } }, { clock, backupSchedule: { everyMs: 1e9, drillEveryMs: 1e9, firstAfterMs: 1e9 } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await t.tenant('clinic');
    // Yesterday's samples, all operational, so the uptime bars have history to show.
    await t.app.status.probe();
    now += 3 * 3_600_000;
    await t.app.status.probe();
    const operator = await signInOperator(t, 'operator', 'ops@hosting.example', () => now);
    const post = async (url: string, body: unknown) => assert.equal((await as(t, operator, { method: 'POST', url, body, headers: { 'content-type': 'application/json' } })).statusCode, 201);
    await post('/platform/status/maintenances', { title: 'Database upgrade', text: 'Sign-in may be slow for a few minutes.', components: ['sign-in'], startsAt: new Date(now + 86_400_000).toISOString(), endsAt: new Date(now + 88_000_000).toISOString() });
    await post('/platform/status/notices', { title: 'Signing keys rotated', text: 'We rotated every token signing key after a routine review. Nothing is needed from you.' });
    await t.app.status.publishIncidentUpdate({ incidentId: 'inc-1', title: 'Slow API responses', severity: 'medium', state: 'triage', text: 'Some requests take several seconds. We are looking into it.', at: now });
    await t.app.status.publishIncidentUpdate({ incidentId: 'inc-1', title: 'Slow API responses', severity: 'medium', state: 'contained', text: 'A storage volume was saturated; traffic has moved to another one.', at: now + 120_000 });
    await t.app.status.refresh();
    browser = await launchChromium();
    watched = await watchedPage(browser);
    page = watched.page;
  });
  after(async () => {
    await browser?.close();
    await t?.close().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows the components as the checks found them, the incident, maintenance and notice, accessibly', async () => {
    const response = await page.goto(`${base}/status`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'System status');
    assert.equal(await page.getByRole('status').innerText(), 'Some systems are degraded');
    assert.equal(await page.locator('#component-backups .state').innerText(), 'Degraded');
    assert.equal(await page.locator('#component-api .state').innerText(), 'Operational');
    assert.match(await page.locator('#incident-inc-1').innerText(), /Slow API responses[\s\S]*Identified[\s\S]*storage volume was saturated[\s\S]*Investigating/);
    assert.match(await page.getByRole('region', { name: 'Scheduled maintenance' }).innerText(), /Database upgrade[\s\S]*Affects: Sign-in/);
    assert.match(await page.getByRole('region', { name: 'Security notices' }).innerText(), /Signing keys rotated/);
    // Each day's bar has its text: 90 per component.
    assert.equal(await page.locator('#component-api ol.bars li').count(), 90);
    assert.equal(await page.locator('#component-api ol.bars li').last().innerText(), '4 May 2026: 100 % — Operational');
    assert.deepEqual(watched.refusals(), [], 'nothing refused by the CSP');
    await assertAccessible(page, 'status page');
    await screenshotForDocs(page, 'status-page');
    await page.setViewportSize({ width: 390, height: 844 });
    await assertAccessible(page, 'status page on a phone');
    await screenshotForDocs(page, 'status-page-phone');
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  it('is usable by keyboard: the skip link first, the feeds reachable', async () => {
    await page.goto(`${base}/status`);
    await tabTo(page, page.getByRole('link', { name: 'Skip to content' }), 'the skip link', 1);
    await tabTo(page, page.getByRole('link', { name: 'Atom' }), 'the Atom feed link', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/feed\.atom$/);
  });

  it('offers feeds a browser parses as XML, with the incident, maintenance and notice', async () => {
    // The page's CSP lets it fetch nothing: the feeds are fetched beside it and parsed by the browser on a blank page.
    await page.goto('about:blank');
    const parsed = async (path: string, item: string) => {
      const text = await (await page.request.get(`${base}${path}`)).text();
      // Source text: this project's TypeScript has no DOM types; the function runs in the browser.
      return (await page.evaluate(
        `(() => { const doc = new DOMParser().parseFromString(${JSON.stringify(text)}, 'application/xml'); return { error: doc.querySelector('parsererror') !== null, titles: [...doc.querySelectorAll(${JSON.stringify(item)})].map((e) => e.querySelector('title')?.textContent ?? '') }; })()`,
      )) as { error: boolean; titles: string[] };
    };
    for (const [path, item] of [['/status/feed.atom', 'entry'], ['/status/feed.rss', 'item']] as const) {
      const feed = await parsed(path, item);
      assert.equal(feed.error, false, `${path} is well-formed XML`);
      assert.deepEqual(feed.titles.sort(), ['Incident: Slow API responses (identified)', 'Maintenance: Database upgrade (scheduled)', 'Security notice: Signing keys rotated (published)']);
    }
  });

  it('still answers with the database stopped, and says so', async () => {
    await stopDatabase(t, 'sqlite');
    await t.app.status.refresh();
    // Another address than before: the browser keeps the page for its 30 s max-age.
    await page.goto(`${base}/status?lang=en`);
    assert.match(await page.getByRole('alert').innerText(), /Our database is not answering/);
    assert.equal(await page.locator('#component-api .state').innerText(), 'Major outage');
    assert.equal(await page.getByRole('status').innerText(), 'Major outage');
    assert.match(await page.locator('#incident-inc-1').innerText(), /Slow API responses/);
    await assertAccessible(page, 'status page, database down');
    await screenshotForDocs(page, 'status-page-database-down');
  });
});
