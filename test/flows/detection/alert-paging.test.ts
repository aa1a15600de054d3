import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAlerts, rules } from '../../../src/detection/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInWithTotp } from '../../support/people.js';

/**
 * Paging the alerts newest first: alerts that share their last finding's time (one batch of the
 * engine stores many at the same millisecond) at the edge of a page are neither skipped nor
 * shown twice — the next link carries the last alert's time and id, not the time alone.
 */
for (const engine of engines()) {
  describe(`alert paging [${engine}]`, () => {
    let t: TestApp;
    let apiKey: string;
    const ids: string[] = [];

    before(async () => {
      t = await startTestApp(engine, { detection: { walkSeconds: 3600 } });
      await t.tenant('clinic');
      apiKey = await t.key('clinic', 'tenant-admin');
      // Five alerts at one instant (as by one batch of the engine), two older ones.
      const stopped = fixedClock(new Date('2026-01-02T00:00:00Z'));
      const sameInstant = createAlerts({ storage: t.app.storage, clock: stopped, audit: t.app.audit, rules, dedupMs: 60_000 });
      for (let i = 0; i < 2; i += 1) ids.push((await t.app.alerts.raise('clinic', 'auth.brute-force', { subject: `Account/usr_old_${i}`, summary: '5 failed sign-ins.' })).id);
      for (let i = 0; i < 5; i += 1) ids.push((await sameInstant.raise('clinic', 'auth.brute-force', { subject: `Account/usr_same_${i}`, summary: '5 failed sign-ins.' })).id);
    });
    after(() => t.close());

    it('follows next through alerts sharing a time at every page edge: each alert once', async () => {
      const seen: string[] = [];
      let url: string | null = '/tenants/clinic/alerts?limit=2';
      for (let pages = 0; url !== null && pages < 10; pages += 1) {
        const response = await t.inject({ method: 'GET', url, key: apiKey });
        assert.equal(response.statusCode, 200, response.body);
        const body = json(response) as { alerts: Array<{ id: string }>; next: string | null };
        seen.push(...body.alerts.map((a) => a.id));
        url = body.next === null ? null : new URL(body.next, 'http://x').pathname + new URL(body.next, 'http://x').search;
      }
      assert.deepEqual([...seen].sort(), [...ids].sort(), 'every alert, none twice');
      assert.equal(new Set(seen).size, seen.length);
    });

    it('the console list pages the same way (50 a page): 55 alerts at one instant, each shown once', async () => {
      const admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', () => Date.parse('2026-01-01T00:00:00Z'));
      const crowd = createAlerts({ storage: t.app.storage, clock: fixedClock(new Date('2026-01-03T00:00:00Z')), audit: t.app.audit, rules, dedupMs: 60_000 });
      const crowded: string[] = [];
      for (let i = 0; i < 55; i += 1) crowded.push((await crowd.raise('clinic', 'change.api-key', { subject: `ApiKey/key_${i}`, summary: 'An API key was created.' })).id);
      const seen: string[] = [];
      let url: string | undefined = '/tenants/clinic/console/alerts/?rule=change.api-key';
      for (let pages = 0; url !== undefined && pages < 5; pages += 1) {
        const page = await as(t, admin, { method: 'GET', url });
        assert.equal(page.statusCode, 200);
        seen.push(...[...page.body.matchAll(/href="\/tenants\/clinic\/console\/alerts\/([0-9a-f-]{36})"/g)].map((m) => m[1] as string));
        const older = /<a href="([^"]*before=[^"]*)">Older alerts<\/a>/.exec(page.body)?.[1];
        url = older?.replace(/&(amp|#38);/g, "&");
      }
      assert.equal(seen.length, 55, 'two pages: 50 and 5');
      assert.deepEqual([...seen].sort(), [...crowded].sort());
    });

    it('still takes a date-time as before= (alerts last seen before it), and refuses a token it did not make', async () => {
      const older = await t.inject({ method: 'GET', url: '/tenants/clinic/alerts?before=2026-01-02T00:00:00Z', key: apiKey });
      assert.equal(older.statusCode, 200);
      assert.deepEqual((json(older) as { alerts: Array<{ id: string }> }).alerts.map((a) => a.id).sort(), ids.slice(0, 2).sort());
      const forged = await t.inject({ method: 'GET', url: `/tenants/clinic/alerts?before=${Buffer.from('1|a b').toString('base64url')}`, key: apiKey });
      assert.equal(forged.statusCode, 400);
    });
  });
}
