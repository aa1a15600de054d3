import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInWithTotp } from '../../support/people.js';

/** "Told when a service cannot be regionalised": the tenant's region and every shared service with where it runs, over the API and in the console. */
describe('GET /tenants/{t}/region and the settings page', () => {
  let t: TestApp;
  let dirB: string;
  let keyB: string;
  let keyHome: string;

  before(async () => {
    dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
    t = await startTestApp('sqlite', {
      server: { publicUrl: 'https://vault.example.org' },
      mail: { smtp: { host: 'relay.example.net', port: 587, from: 'vault@example.org' } },
      audit: { sinks: { syslog: 'tls://siem.example.com:6514' } },
      regions: { default: { label: 'EU', location: 'Frankfurt, DE' }, ch: { dataDir: dirB, label: 'Switzerland', location: 'Zürich, CH' } },
    }, { clock: { now: () => new Date() } });
    await t.app.tenants.create('zurich', 'Zurich clinic', 'ch');
    keyB = await t.key('zurich', 'service-reader');
    keyHome = await t.tenant('berlin');
  });
  after(async () => {
    await t?.close();
    rmSync(dirB, { recursive: true, force: true });
  });

  it('lists every service that is not kept in the tenant’s region, with where it runs', async () => {
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/zurich/region' })).statusCode, 401);
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/zurich/region', key: keyHome })).statusCode, 403, 'another tenant’s key is refused');
    const answer = await t.inject({ method: 'GET', url: '/tenants/zurich/region', key: keyB });
    assert.equal(answer.statusCode, 200);
    const report = json(answer);
    assert.deepEqual(report['region'], { name: 'ch', label: 'Switzerland', location: 'Zürich, CH', home: false });
    const where = new Map((report['notRegionalised'] as Array<{ id: string; where: string }>).map((c) => [c.id, c.where]));
    assert.equal(where.get('mail-relay'), 'relay.example.net:587');
    assert.equal(where.get('siem-syslog'), 'siem.example.com:6514');
    assert.match(where.get('platform-registry') ?? '', /home region \(EU, Frankfurt, DE\)/);
    assert.equal(where.get('oauth-issuer'), 'vault.example.org');
    for (const id of ['server-processes', 'operators-realm', 'platform-signing-keys', 'status-page', 'alert-webhooks', 'backups']) assert.ok(where.has(id), id);

    // In the home region, what runs there is no transfer; the relay and the SIEM still are listed.
    const home = json(await t.inject({ method: 'GET', url: '/tenants/berlin/region', key: keyHome }));
    assert.equal(home['region'].home, true);
    const homeIds = (home['notRegionalised'] as Array<{ id: string }>).map((c) => c.id).sort();
    assert.deepEqual(homeIds, ['alert-webhooks', 'mail-relay', 'siem-syslog']);
  });

  it('shows the region and the list on the clinic console’s settings page, in English and German', async () => {
    const admin = await signInWithTotp(t, 'zurich', 'tenant-admin', 'admin@zurich.example', () => Date.now());
    const page = await as(t, admin, { method: 'GET', url: '/tenants/zurich/console/settings/' });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Where your data is kept/);
    assert.match(page.body, /Switzerland/);
    assert.match(page.body, /Zürich, CH/);
    assert.match(page.body, /relay\.example\.net:587/);
    assert.match(page.body, /The mail relay/);
    const german = await as(t, admin, { method: 'GET', url: '/tenants/zurich/console/settings/', headers: { 'accept-language': 'de' } });
    assert.match(german.body, /Wo Ihre Daten liegen/);
    assert.match(german.body, /Der Mail-Server/);
  });
});
