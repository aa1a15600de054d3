import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresorHere } from '../../support/cli.js';
import { patient } from '../../support/harness.js';

// `tresor incident assess` on the host: the checklist of an incident whose scope was frozen
// while the server ran, computed and printed by the operator's CLI, audited as `cli:<os user>`.
// A CLI matter, the same on both engines: SQLite only.
describe('tresor incident assess', () => {
  let dataDir: string;
  let incidentId = '';
  const readIds: string[] = [];
  const config = () => loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-assess-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
    const app = await buildApp(config());
    try {
      const writer = await app.apiKeys.create({ tenantId: 'acme', role: 'service' });
      const reader = await app.apiKeys.create({ tenantId: 'acme', role: 'service-reader' });
      for (let i = 0; i < 3; i++) {
        const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(patient()) });
        assert.equal(created.statusCode, 201, created.body);
        const id = String((JSON.parse(created.body) as { id: string }).id);
        assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers: { authorization: `Bearer ${reader.key}` } })).statusCode, 200);
        readIds.push(id);
      }
      const cli = { kind: 'operator' as const, actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, requestId: '', sourceIp: 'local', status: 0 };
      incidentId = (await app.incidents.open(cli, { title: 'Key leak', severity: 'high', tenants: ['acme'] })).incident.id;
      await app.incidentScopes.freezeScope(cli, incidentId, { from: Date.now() - 3_600_000, to: Date.now(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['acme'] });
    } finally {
      await app.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('computes the checklist from the newest scope and prints each item with its rule, answer, deadline and reasons; audited as the CLI', { timeout: 120_000 }, async () => {
    const run = await tresorHere(['incident', 'assess', incidentId, '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^item\s+rule\s+answer\s+due/m);
    assert.match(run.stdout, /^gdpr\.33-1@acme\s+GDPR Art\. 33\(1\)\s+yes\s+\d{4}-\d{2}-\d{2}T\S+, due in 7[12] h/m);
    assert.match(run.stdout, /^pci\.12-10-1@acme\s+PCI DSS v4\.0 12\.10\.1\s+not-applicable/m);
    assert.match(run.stdout, /3 patients \(\d+ records?\) disclosed in clear through the API by a valid API key/);
    for (const id of readIds) assert.ok(!run.stdout.includes(id), 'no patient id in the checklist');

    const again = await tresorHere(['incident', 'assess', incidentId, '--json', '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.stderr);
    const view = JSON.parse(again.stdout) as { items: Array<{ key: string; effective: string }>; computedBy: string };
    assert.equal(view.items.length, 9);
    assert.match(view.computedBy, /^cli:/);

    const missing = await tresorHere(['incident', 'assess', '00000000-0000-4000-8000-000000000000', '--data-dir', dataDir]);
    assert.notEqual(missing.code, 0);

    const check = await buildApp(config());
    try {
      const [event, more] = await check.audit.query('operators', { count: 10, actions: ['notification.assessed'] });
      assert.equal(more, undefined, 'the second run printed the stored checklist, it did not compute again');
      assert.match(event?.actor.id ?? '', /^cli:/);
      assert.match(event?.detail ?? '', /items=9 yes=\d+/);
      assert.equal((await check.audit.query('acme', { count: 10, actions: ['notification.assessed'] })).length, 1);
    } finally {
      await check.close();
    }
  });
});
