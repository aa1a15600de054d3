import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import type { IncidentCaller } from '../../../src/incidents/index.js';
import { tresorHere } from '../../support/cli.js';
import { patient } from '../../support/harness.js';
import { pdfPages } from '../../support/pdf-text.js';
import { writtenFreeText } from './free-text.js';

// `tresor incident drafts …` on the host: the same service as the API, recorded as `cli:<os
// user>`. A CLI matter, the same on both engines: SQLite only.
describe('tresor incident drafts', () => {
  let dataDir: string;
  let incidentId = '';
  let letters = '';
  const run = (...args: string[]) => tresorHere(['incident', 'drafts', incidentId, ...args, '--data-dir', dataDir]);
  const config = () => loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-drafts-'));
    const app = await buildApp(config());
    try {
      await app.tenants.create('acme', 'Praxis Acme');
      const writer = await app.apiKeys.create({ tenantId: 'acme', role: 'service' });
      const reader = await app.apiKeys.create({ tenantId: 'acme', role: 'service-reader' });
      const started = Date.now() - 60_000;
      for (const [given, extra] of [['Käthe', { address: [{ line: ['Heidestraße 3'], postalCode: '50667', city: 'Köln', country: 'DE' }] }], ['Max', { telecom: [{ system: 'email', value: 'max@example.org' }] }]] as const) {
        const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(patient({ name: [{ given: [given], family: 'Muster' }], ...extra })) });
        assert.equal(created.statusCode, 201, created.body);
        const read = await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${String(JSON.parse(created.body).id)}`, headers: { authorization: `Bearer ${reader.key}` } });
        assert.equal(read.statusCode, 200);
      }
      const caller: IncidentCaller = { kind: 'operator', actor: { id: 'operator:ops_1', role: 'operator', client: 'session' }, requestId: 'r', sourceIp: '127.0.0.1', status: 200 };
      incidentId = (await app.incidents.open(caller, { title: 'Key leak', severity: 'high', tenants: ['acme'] })).incident.id;
      const frozen = await app.incidentScopes.freezeScope(caller, incidentId, { from: started, to: Date.now(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['acme'] });
      const created = await app.noticeDrafts.generate(caller, incidentId, { scopeId: frozen.id, kinds: ['individual'] });
      letters = created[0]?.id ?? '';
      // The free text written (in the console, by someone else): what the CLI approves is finished.
      await app.noticeDrafts.edit(caller, incidentId, letters, writtenFreeText);
    } finally {
      await app.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists, approves (someone other than the drafter), sends to the outbox, and prints the batch', async () => {
    const listed = await run();
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${letters}\\s+individual\\s+acme\\s+draft`));
    const early = await run('--draft', letters, '--send');
    assert.equal(early.code, 1);
    assert.match(early.stderr, /approve/i);
    const approved = await run('--draft', letters, '--approve');
    assert.equal(approved.code, 0, approved.stderr);
    const sent = await run('--draft', letters, '--send');
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /1 mailed, 0 failed, 1 to print, 0 unreachable/);
    const again = await run('--draft', letters, '--send');
    assert.match(again.stdout, /0 mailed, .* 2 done before/);
    const out = join(dataDir, 'batch.pdf');
    const printed = await run('--draft', letters, '--format', 'pdf', '--batch', 'post', '--out', out);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const text = pdfPages(readFileSync(out)).join('\n');
    assert.match(text, /Käthe Muster/);
    assert.match(text, /Heidestraße 3/);
    assert.ok(!text.includes('Max'));
    const shown = await run('--draft', letters);
    assert.match(shown.stdout, /email\tqueued\tPatient\//);
    assert.match(shown.stdout, /post\tbatched\tPatient\//);
    assert.ok(!shown.stdout.includes('@'));
  });
});
