import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import type { Scope } from '../../../src/breach/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { patient } from '../../support/harness.js';
import { tresorHere } from '../../support/cli.js';

// `tresor breach scope | verify` beside a running server on the same data directory.
describe('tresor breach', () => {
  let dataDir: string;
  let app: Tresor;
  let keyId: string;
  let patients: string[];
  const since = new Date(Date.now() - 60_000).toISOString();
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-breach-'));
    app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    await app.tenants.create('acme');
    const writer = await app.apiKeys.create({ tenantId: 'acme', role: 'service' });
    const reader = await app.apiKeys.create({ tenantId: 'acme', role: 'service-reader' });
    keyId = reader.info.id;
    patients = [];
    for (let i = 0; i < 3; i++) {
      const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(patient()) });
      patients.push((JSON.parse(created.body) as { id: string }).id);
    }
    for (const id of patients.slice(0, 2)) {
      const read = await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers: { authorization: `Bearer ${reader.key}` } });
      assert.equal(read.statusCode, 200);
    }
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the scope of a key, its JSON derives again, and an edited copy does not', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const printed = await tresorHere(['breach', 'scope', '--from', since, '--to', to, '--api-key', keyId, '--data-dir', dataDir]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /tenant acme: 2 patients, 2 records, 0 refused attempts; in clear: internal, personal/);
    for (const id of patients.slice(0, 2)) assert.match(printed.stdout, new RegExp(`Patient/${id}  in-clear`));
    assert.doesNotMatch(printed.stdout, new RegExp(`Patient/${patients[2]}`));

    const json = await tresorHere(['breach', 'scope', '--from', since, '--to', to, '--api-key', keyId, '--tenant', 'acme', '--json', '--data-dir', dataDir]);
    const scope = JSON.parse(json.stdout) as Scope;
    assert.equal(scope.totals.patients, 2);
    const file = join(dataDir, 'scope.json');
    writeFileSync(file, json.stdout);
    const verified = await tresorHere(['breach', 'verify', file, '--data-dir', dataDir]);
    assert.equal(verified.code, 0, verified.stdout);
    writeFileSync(file, JSON.stringify({ ...scope, totals: { ...scope.totals, patients: 1 } }));
    const edited = await tresorHere(['breach', 'verify', file, '--data-dir', dataDir]);
    assert.equal(edited.code, 1);
    assert.match(edited.stdout, /contents were changed/);
  });

  it('takes exactly one suspect', async () => {
    const both = await tresorHere(['breach', 'scope', '--from', since, '--to', since, '--api-key', keyId, '--raw-files', '--data-dir', dataDir]);
    assert.equal(both.code, 2);
    const none = await tresorHere(['breach', 'scope', '--from', since, '--to', since, '--data-dir', dataDir]);
    assert.equal(none.code, 2);
  });
});
