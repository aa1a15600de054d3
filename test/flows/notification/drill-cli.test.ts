import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import type { DrillReport } from '../../../src/notification/index.js';
import { tresorHere } from '../../support/cli.js';
import { smtpSkipReason, startSmtpRelay } from '../../support/smtp.js';

// `tresor incident drill` on the host, beside real tenants it must not touch. A CLI matter, the
// same on both engines: SQLite only (the drill itself runs on both in drill.test.ts).
describe('tresor incident drill', () => {
  let dataDir: string;
  const run = (...args: string[]) => tresorHere(['incident', 'drill', ...args, '--data-dir', dataDir]);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-drill-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs on synthetic tenants, prints each step, keeps the report, touches no real tenant', { timeout: 120_000, skip: smtpSkipReason() }, async () => {
    const text = await run('--patients', '6');
    assert.equal(text.code, 0, text.stderr + text.stdout);
    assert.match(text.stdout, /^ok {4}\s*\d+\.\d\d s {2}prepare synthetic tenants — 2 tenants, 6 patients each$/m);
    assert.match(text.stdout, /^ok\s+\d+\.\d\d s {2}assess notification duties — \d+ items, \d+ with a deadline$/m);
    assert.match(text.stdout, /^ok\s+\d+\.\d\d s {2}generate drafts — 2 letter drafts, 10 letters checked for their addressee$/m);
    assert.match(text.stdout, /^skip\s+0\.00 s {2}deliver to test SMTP server \(no --smtp test server given: the drill mails no one\)$/m);
    assert.match(text.stdout, /^passed in \d+\.\d s: patients read 10, found by the scope 10, people resolved 10$/m);

    // Delivery: to the test SMTP server named, and only there.
    const relay = await startSmtpRelay();
    let asJson: Awaited<ReturnType<typeof run>>;
    try {
      asJson = await run('--patients', '3', '--json', '--smtp', `127.0.0.1:${relay.port}`);
      assert.equal(asJson.code, 0, asJson.stderr + asJson.stdout);
      const mailed = Number(/^(\d+) letters mailed/.exec((JSON.parse(asJson.stdout) as DrillReport).steps.find((s) => s.name === 'deliver to test SMTP server')?.detail ?? '')?.[1]);
      assert.ok(mailed > 0);
      const mails = await relay.waitFor(mailed);
      assert.equal(mails.length, mailed);
      assert.ok(mails.every((m) => /@example\.org>?$/.test(m.to)), 'synthetic people only');
    } finally {
      await relay.stop();
    }
    const report = JSON.parse(asJson.stdout) as DrillReport;
    assert.equal(report.ok, true);
    assert.deepEqual(report.counts, { patientsRead: 4, patientsFound: 4, peopleResolved: 4 });
    const lines = readFileSync(join(dataDir, 'incident-drills.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[1] as string), report);

    for (const bad of [['--patients', '0'], ['--smtp', 'mail.example.org'], ['--patients', 'many']]) {
      const refused = await run(...bad);
      assert.equal(refused.code, 2, bad.join(' '));
    }

    const app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    try {
      const tenants = await app.tenants.list();
      assert.deepEqual(tenants.filter((x) => x.status === 'active').map((x) => x.id), ['acme'], 'the drill tenants are disabled');
      assert.equal(tenants.filter((x) => x.id.startsWith('drill-')).length, 4);
      const touched = await app.audit.query('acme', { count: 50 });
      assert.ok(touched.every((e) => !e.action.startsWith('breach.') && !e.action.startsWith('incident.')), 'a real tenant’s trail never hears of the drill');
      const events = await app.audit.query('operators', { count: 5, actions: ['incident.drill_run'] });
      assert.equal(events.length, 2);
      assert.ok(events.every((e) => e.actor.id.startsWith('cli:') && e.outcome === 'success'));
      const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, new RegExp(`tresor_incident_drill_last_timestamp_seconds ${Date.parse(report.at) / 1000}`));
    } finally {
      await app.close();
    }
  });
});
