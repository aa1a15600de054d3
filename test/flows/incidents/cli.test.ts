import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { patient } from '../../support/harness.js';
import { tresorHere } from '../../support/cli.js';

// `tresor incident …` on the host: the same service as the API, recorded as `cli:<os user>` in
// the operators' trail and the affected tenant's. A CLI matter, the same on both engines: SQLite only.
describe('tresor incident', () => {
  let dataDir: string;
  const run = (...args: string[]) => tresorHere(['incident', ...args, '--data-dir', dataDir]);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-incident-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('opens from an alert, lists, shows, moves forward, refuses going back, closes only with a note; every change audited', async () => {
    const app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    const alert = await app.alerts.raise('operators', 'auth.brute-force', { subject: 'Account/ops_1', summary: '7 failed sign-ins', severity: 'high' });
    await app.close();

    const opened = await run('open', '--title', 'Key leak', '--severity', 'high', '--tenant', 'acme', '--from-alert', `operators/${alert.id}`, '--note', 'seen on a paste site');
    assert.equal(opened.code, 0, opened.stderr);
    const id = opened.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);

    const listed = await run('list', '--state', 'open');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^id\s+state\s+severity\s+age\s+owner\s+tenants\s+title/);
    assert.ok(listed.stdout.includes(id) && listed.stdout.includes('Key leak') && listed.stdout.includes('acme'));
    const asJson = JSON.parse((await run('list', '--json')).stdout) as Array<{ id: string; state: string }>;
    assert.deepEqual(asJson.map((i) => [i.id, i.state]), [[id, 'triage']]);

    const moved = await run('update', id, '--to', 'contained', '--note', 'key revoked');
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /triage→contained/);
    const back = await run('update', id, '--to', 'triage');
    assert.equal(back.code, 1);
    assert.match(back.stderr, /forward/);
    const bare = await tresorHere(['incident', 'close', id, '--data-dir', dataDir]);
    assert.equal(bare.code, 2, 'a usage error: the resolution note is required');
    const closed = await run('close', id, '--note', 'no data was read', '--json');
    assert.equal(closed.code, 0, closed.stderr);
    const shown = JSON.parse((await run('show', id, '--json')).stdout) as { state: string; alerts: Array<{ id: string }>; timeline: Array<{ kind: string; by: string; text: string }> };
    assert.equal(shown.state, 'closed');
    assert.deepEqual(shown.alerts.map((a) => a.id), [alert.id]);
    assert.ok(shown.timeline.every((e) => e.by.startsWith('cli:')));
    assert.ok(shown.timeline.some((e) => e.kind === 'state' && e.text === 'no data was read'));

    const check = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    try {
      for (const realm of ['operators', 'acme']) {
        const events = await check.audit.query(realm, { count: 20, actions: ['incident.opened', 'incident.state_changed', 'incident.noted'] });
        assert.deepEqual(events.map((e) => e.action).sort(), ['incident.noted', 'incident.opened', 'incident.state_changed', 'incident.state_changed'], realm);
        assert.ok(events.every((e) => e.actor.id.startsWith('cli:') && e.resources.includes(`Incident/${id}`)));
      }
    } finally {
      await check.close();
    }
  });
  it('freezes a breach scope into an incident and lists it in show; audited with counts only', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    const writer = await app.apiKeys.create({ tenantId: 'acme', role: 'service' });
    const reader = await app.apiKeys.create({ tenantId: 'acme', role: 'service-reader' });
    const patients: string[] = [];
    for (let i = 0; i < 2; i++) {
      const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(patient()) });
      const id = (JSON.parse(created.body) as { id: string }).id;
      patients.push(id);
      assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers: { authorization: `Bearer ${reader.key}` } })).statusCode, 200);
    }
    await app.close();

    const id = (await run('open', '--title', 'Reader key leaked')).stdout.trim();
    const to = new Date(Date.now() + 60_000).toISOString();
    const none = await run('scope', id, '--from', since, '--to', to);
    assert.equal(none.code, 2, 'a usage error: one suspect');
    const frozen = await run('scope', id, '--from', since, '--to', to, '--api-key', reader.info.id);
    assert.equal(frozen.code, 0, frozen.stderr);
    assert.match(frozen.stdout, /tenant acme: 2 patients, 2 records/);
    assert.match(frozen.stdout, /frozen into the incident as scope [0-9a-f-]{36}/);
    const shown = await run('show', id);
    assert.match(shown.stdout, /scope [0-9a-f-]{36} .* by cli:\S+ +2 patients in 1 tenant\(s\) +hash [0-9a-f]{64}/);
    assert.match(shown.stdout, /tenants: acme/, 'the touched tenant joined the incident');
    for (const p of patients) assert.ok(!shown.stdout.includes(p), 'the timeline names no patient');

    const check = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    try {
      const [event] = await check.audit.query('acme', { count: 1, actions: ['incident.scope_frozen'] });
      assert.match(event?.detail ?? '', /patients=2 records=2 attempts=0 hash=[0-9a-f]{64}/);
      assert.ok(event?.actor.id.startsWith('cli:'));
    } finally {
      await check.close();
    }
  });
});
