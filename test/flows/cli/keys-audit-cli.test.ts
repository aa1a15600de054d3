import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresor, tresorHere } from '../../support/cli.js';

// The key and audit commands, beside a running server on the same data directory.
describe('tresor CLI: keys and audit', () => {
  let dataDir: string;
  let app: Tresor;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-keys-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
    assert.equal((await tresorHere(['tenant', 'create', 'beta', '--data-dir', dataDir])).code, 0);
    assert.equal((await tresorHere(['tenant', 'disable', 'beta', '--data-dir', dataDir])).code, 0);
    app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('rotates tenant and master keys while the server runs, and shows the key status', async () => {
    const key = (await tresorHere(['apikey', 'create', '--tenant', 'acme', '--role', 'service', '--data-dir', dataDir])).stdout.trimEnd().split('\n').pop() as string;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' };
    const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers, payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Rotated' }] }) });
    const id = (JSON.parse(created.body) as { id: string }).id;
    const gone = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers, payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Gone' }] }) });
    const goneId = (JSON.parse(gone.body) as { id: string }).id;
    assert.equal((await tresorHere(['keys', 'shred', '--tenant', 'acme', '--subject', `Patient/${goneId}`, '--data-dir', dataDir])).code, 0);
    assert.equal((await tresorHere(['keys', 'rotate', '--tenant', 'acme', '--master', '--data-dir', dataDir])).code, 2, 'one scope at a time');
    assert.equal((await tresorHere(['keys', 'rotate', '--tenant', 'nobody', '--data-dir', dataDir])).code, 1);

    // Rotations by other processes while this one serves: the server must pick up both.
    const tenant = tresor(['keys', 'rotate', '--tenant', 'acme', '--data-dir', dataDir]);
    assert.equal(tenant.code, 0, tenant.stderr);
    assert.match(tenant.stderr, /tenant acme: version 2 is current from now on/);
    assert.match(tenant.stdout, /tenant acme: generation 2; [\d,]+ fields re-encrypted in [\d.]+ s( \([\d,]+ fields\/s\))?; retired: data key versions \d+, key-encryption keys 1/);
    const master = tresor(['keys', 'rotate', '--master', '--data-dir', dataDir]);
    assert.equal(master.code, 0, master.stderr);
    assert.match(master.stdout, /master key: version 2; \d+ tenant key\(s\) re-wrapped .* retired: master versions 1/);
    // The running server sees both at once: it reads the rotated key ring and the new data keys.
    const read = await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal((JSON.parse(read.body) as { name: Array<{ family: string }> }).name[0]?.family, 'Rotated');

    // No flag: every tenant, disabled ones too (their data is still there to protect).
    const everyone = await tresorHere(['keys', 'rotate', '--data-dir', dataDir]);
    assert.equal(everyone.code, 0, everyone.stderr);
    assert.match(everyone.stdout, /tenant acme: generation 3;/);
    assert.match(everyone.stdout, /tenant beta: generation 2;/);
    assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers })).statusCode, 200);

    const status = await tresorHere(['keys', 'status', '--data-dir', dataDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /master key: local \(key file\); current version 2; versions on hand: 2\n/);
    assert.match(status.stdout, /tenant acme: key-encryption key v3 · index key v1 · data keys v1: 0 live, 1 destroyed; v3: \d+ live/);
    assert.match(status.stdout, /rotation \S+: tenant acme to version 3 finished/);
    const json = JSON.parse((await tresorHere(['keys', 'status', '--json', '--data-dir', dataDir])).stdout) as { masterVersions: number[] };
    assert.deepEqual(json.masterVersions, [2]);
    // Nothing printed is key material: no base64 of 32 bytes anywhere.
    assert.doesNotMatch(tenant.stdout + tenant.stderr + master.stdout + status.stdout, /[A-Za-z0-9+/]{43}=/);
  });

  it('audits admin commands and verifies the audit chains, exiting 1 when one was tampered with', async () => {
    assert.equal((await tresorHere(['tenant', 'create', 'audited', '--data-dir', dataDir])).code, 0);
    assert.equal((await tresorHere(['apikey', 'create', '--tenant', 'audited', '--role', 'service-reader', '--data-dir', dataDir])).code, 0);
    const intact = await tresorHere(['audit', 'verify', '--tenant', 'audited', '--data-dir', dataDir]);
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /tenant audited: 2 events, chain intact through event 2, consistent with 2 signed checkpoint\(s\)/);
    const db = await app.storage.tenant('audited');
    const rows = await db.query<{ action: string; actor_id: string; purpose: string }>(`SELECT action, actor_id, purpose FROM ${db.table('audit_events')} ORDER BY seq`);
    assert.deepEqual(
      rows.map((r) => r.action),
      ['tenant.created', 'apikey.created'],
    );
    assert.match(rows[0]?.actor_id ?? '', /^cli:/);
    assert.equal(rows[0]?.purpose, 'SYSADMIN');
    await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = 'nobody' WHERE seq = 1`);
    const tampered = tresor(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /tenant audited: event 1: modified: /);
    assert.match(tampered.stdout, /tenant acme: [\d,]+ events, chain intact/);
    // The retention prune leaves a chain with findings alone, and says so.
    const prune = await tresorHere(['audit', 'prune', '--data-dir', dataDir]);
    assert.equal(prune.code, 1);
    assert.match(prune.stdout, /tenant audited: not pruned: the chain has 1 finding\(s\)/);
    assert.match(prune.stdout, /tenant acme: nothing older than the retention period/);
  });

});
