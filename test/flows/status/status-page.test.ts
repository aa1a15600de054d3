import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';
import { stopDatabase } from './stop-database.js';


/**
 * The public status page end to end, through the server: components follow the checks (a
 * backup schedule that stopped, a failed readiness check), operators publish maintenance and
 * notices, an incident's update is published, samples become uptime bars, and the page keeps
 * answering — saying so — when the database is gone.
 */
for (const engine of engines()) {
  describe(`status page [${engine}]`, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tresor-status-'));
    let now = Date.parse('2026-05-04T08:00:00Z');
    const clock = { now: () => new Date((now += 1)) };
    let t: TestApp;
    let operator: Person;
    let signIns = 0;
    // Sessions end after 15 idle minutes and the clock jumps hours: each test signs in anew.
    const freshOperator = async () => (operator = await signInOperator(t, 'operator', `ops${(signIns += 1)}@tresor-hosting.example`, () => now));
    before(async () => {
      t = await startTestApp(
        engine,
        { backup: { repository: join(scratch, 'repo'), key: generateBackupKey(), schedule: true, everyMinutes: 15 }, server: { publicUrl: 'https://vault.example.org' }, status: { oauthTenant: 'klinik-nord' }, detection: { rules: { 'platform.replication': { requireSynchronous: false } } }, security: { contact: ['mailto:security@example.org'], policy: 'https://example.org/disclosure' } },
        { clock, backupSchedule: { everyMs: 1e9, drillEveryMs: 1e9, firstAfterMs: 1e9 } },
      );
      await t.tenant('klinik-nord');
      await t.app.tenants.create('praxis-sued', 'Praxis am Südpark');
    });
    after(async () => {
      await t.close().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    });
    const summary = async () => json<{ status: { indicator: string }; components: { id: string; status: string; description: string | null }[]; incidents: { id: string; name: string; incident_updates: { body: string }[] }[]; scheduled_maintenances: { name: string }[]; tresor: { database_reachable: boolean } }>(await t.inject({ method: 'GET', url: '/status/api/v2/summary.json' }));
    const page = async (lang = 'en') => t.inject({ method: 'GET', url: '/status', headers: { 'accept-language': lang } });

    it('derives the components from the checks: all operational, then backups degraded when the schedule stopped', async () => {
      await t.app.status.refresh();
      let s = await summary();
      // The test's PostgreSQL is a primary without standbys; the replication rule is told not to want a synchronous one.
      const replication = engine === 'postgres' ? [['replication', 'operational']] : [];
      assert.deepEqual(s.components.map((c) => [c.id, c.status]), [['api', 'operational'], ['sign-in', 'operational'], ['oauth', 'operational'], ['backups', 'operational'], ...replication]);
      assert.equal(s.status.indicator, 'none');
      now += 3 * 3_600_000;
      await t.app.status.refresh();
      s = await summary();
      const backups = s.components.find((c) => c.id === 'backups');
      assert.equal(backups?.status, 'degraded_performance');
      assert.match(backups?.description ?? '', /no snapshot since the server started/);
      assert.equal(s.status.indicator, 'minor');
      const html = (await page()).body;
      assert.match(html, /<li class="component" id="component-backups"><p class="row"><span class="name">Backups<\/span> <span class="state s-degraded_performance">Degraded<\/span>/);
    });

    it('publishes maintenance and notices from the operators’ API, refusing text that names a tenant, and audits each change', async () => {
      await freshOperator();
      const post = (url: string, body: unknown, method = 'POST') => as(t, operator, { method, url, body, headers: { 'content-type': 'application/json' } });
      const startsAt = new Date(now + 86_400_000).toISOString();
      const endsAt = new Date(now + 90_000_000).toISOString();
      const made = await post('/platform/status/maintenances', { title: 'Database upgrade', text: 'PostgreSQL moves to a new minor version.', components: ['api', 'sign-in'], startsAt, endsAt });
      assert.equal(made.statusCode, 201, made.body);
      const id = json<{ id: string }>(made).id;
      const patched = await post(`/platform/status/maintenances/${id}`, { update: 'Moved by an hour.', endsAt: new Date(now + 93_600_000).toISOString() }, 'PATCH');
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal((await post('/platform/status/notices', { title: 'Signing keys rotated', text: 'We rotated every signing key after a routine review.' })).statusCode, 201);
      for (const text of ['Customers of klinik-nord saw errors', 'Praxis am Südpark was affected', 'Patient/42 could not sign in']) {
        const refused = await post('/platform/status/notices', { title: 'Notice', text });
        assert.equal(refused.statusCode, 422);
        assert.equal(json(refused)['code'], 'public-text-unsafe');
      }
      assert.equal((await t.inject({ method: 'POST', url: '/platform/status/notices', body: { title: 'x' }, headers: { 'content-type': 'application/json' } })).statusCode, 401);
      const s = await summary();
      assert.deepEqual(s.scheduled_maintenances.map((m) => m.name), ['Database upgrade']);
      const html = (await page()).body;
      assert.match(html, /Database upgrade/);
      assert.match(html, /Moved by an hour\./);
      assert.match(html, /Signing keys rotated/);
      const events = await t.app.audit.query('operators', { actions: ['status.changed'], count: 50 });
      assert.deepEqual(events.map((e) => e.detail).sort(), ['maintenance created', 'maintenance updated (scheduled)', 'notice created']);
    });

    it('shows an incident update published by the incidents module on the page, in the JSON and in both feeds', async () => {
      await t.app.status.publishIncidentUpdate({ incidentId: 'inc-7', title: 'Sign-in errors', severity: 'high', state: 'triage', text: 'Some sign-ins fail; we are investigating.', at: now });
      await t.app.status.publishIncidentUpdate({ incidentId: 'inc-7', title: 'Sign-in errors', severity: 'high', state: 'contained', text: 'The cause is found & contained.', at: now + 60_000 });
      await assert.rejects(t.app.status.publishIncidentUpdate({ incidentId: 'inc-8', title: 'Trouble at klinik-nord', severity: 'low', state: 'triage', text: '', at: now }), { code: 'public-text-unsafe' });
      const s = await summary();
      assert.equal(s.status.indicator, 'major');
      assert.deepEqual(s.incidents.map((i) => [i.name, i.incident_updates.map((u) => u.body)]), [['Sign-in errors', ['The cause is found & contained.', 'Some sign-ins fail; we are investigating.']]]);
      const german = (await page('de')).body;
      assert.match(german, /<html lang="de">/);
      assert.match(german, /Ursache gefunden/);
      const atom = await t.inject({ method: 'GET', url: '/status/feed.atom' });
      assert.equal(atom.headers['content-type'], 'application/atom+xml; charset=utf-8');
      assert.match(atom.body, /<title>Incident: Sign-in errors \(identified\)<\/title>/);
      assert.match(atom.body, /The cause is found &amp; contained\./);
      const rss = await t.inject({ method: 'GET', url: '/status/feed.rss' });
      assert.match(rss.body, /<item><title>Incident: Sign-in errors \(identified\)<\/title>/);
      assert.match(rss.body, /Signing keys rotated/);
      assert.equal(atom.headers['cache-control'], 'public, max-age=30');
    });

    it('stores a sample per component each probe and draws today’s uptime bar from them', async () => {
      await t.app.status.probe();
      await t.app.status.probe();
      const html = (await page()).body;
      // Backups degraded all day: the bar is coloured by the worst state, with a text alternative.
      assert.match(html, /<li class="bar s-degraded_performance" title="4 May 2026: 100 % — Degraded"><span class="sr">4 May 2026: 100 % — Degraded<\/span><\/li><\/ol>/);
      assert.match(html, /<li class="bar s-none" title="3 May 2026: no data">/);
    });

    it('lets an operator override a component until a time, audited', async () => {
      await freshOperator();
      const put = await as(t, operator, { method: 'PUT', url: '/platform/status/components/oauth/override', body: { state: 'partial_outage', note: 'Token endpoint slow in one region', until: new Date(now + 3_600_000).toISOString() }, headers: { 'content-type': 'application/json' } });
      assert.equal(put.statusCode, 204, put.body);
      assert.equal((await summary()).components.find((c) => c.id === 'oauth')?.status, 'partial_outage');
      now += 3_600_001;
      await t.app.status.refresh();
      assert.equal((await summary()).components.find((c) => c.id === 'oauth')?.status, 'operational', 'the override ended');
      const events = await t.app.audit.query('operators', { actions: ['status.changed'], count: 50 });
      assert.ok(events.some((e) => e.resources.includes('StatusComponent/oauth')));
    });

    it('lets an operator publish and edit from the operator console, with the form’s CSRF token', async () => {
      await freshOperator();
      const form = (url: string, fields: Record<string, string>) =>
        t.inject({ method: 'POST', url, headers: { cookie: operator.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: operator.csrf, ...fields }).toString() });
      const listed = await t.inject({ method: 'GET', url: '/platform/console/status/', headers: { cookie: operator.cookie } });
      assert.equal(listed.statusCode, 200);
      assert.match(listed.body, /<a href="\/platform\/console\/status\/" aria-current="page">Status page<\/a>/);
      const made = await form('/platform/console/status/notices', { title: 'TLS certificate renewed', text: 'Nothing changes for you.' });
      assert.equal(made.statusCode, 303);
      const id = /saved=([^&]+)/.exec(String(made.headers['location']))?.[1] as string;
      const edited = await form(`/platform/console/status/${id}`, { title: 'TLS certificate renewed early', text: 'Nothing changes for you.', update: 'Done.' });
      assert.equal(edited.statusCode, 303);
      assert.match((await page()).body, /TLS certificate renewed early/);
      const refused = await form('/platform/console/status/notices', { title: 'About klinik-nord', text: '' });
      assert.equal(refused.statusCode, 422);
      assert.match(refused.body, /must not name a tenant/);
      assert.equal((await form('/platform/console/status/notices', { csrf: 'wrong', title: 'x' })).statusCode, 403);
    });

    it('serves security.txt (RFC 9116) from the configuration', async () => {
      const response = await t.inject({ method: 'GET', url: '/.well-known/security.txt' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
      assert.match(response.body, /^Contact: mailto:security@example.org\nExpires: 2026-1[01]-\d\dT\d\d:\d\d:\d\dZ\n/);
      assert.match(response.body, /\nCanonical: https:\/\/vault.example.org\/.well-known\/security.txt\nPolicy: https:\/\/example.org\/disclosure\n$/);
    });

    it('keeps answering when the database is stopped: the API is a major outage and the lists are as of the last answer', async () => {
      assert.ok(existsSync(join(t.dataDir, 'status-snapshot.json')));
      await stopDatabase(t, engine);
      await t.app.status.refresh();
      const response = await page();
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /<p class="stale" role="alert">Our database is not answering\./);
      assert.match(response.body, /Sign-in errors/, 'the incident is still shown');
      const s = await summary();
      assert.equal(s.components.find((c) => c.id === 'api')?.status, 'major_outage');
      assert.equal(s.tresor.database_reachable, false);
      assert.equal((await t.inject({ method: 'GET', url: '/status/feed.atom' })).statusCode, 200);
    });
  });
}

describe('security.txt without a contact', () => {
  it('is not served at all', async () => {
    const t = await startTestApp('sqlite');
    try {
      const response = await t.inject({ method: 'GET', url: '/.well-known/security.txt' });
      assert.equal(response.statusCode, 404);
    } finally {
      await t.close();
    }
  });
});
