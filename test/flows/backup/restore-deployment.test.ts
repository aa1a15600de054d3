import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { BackupError, generateBackupKey } from '../../../src/backup/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { dropPgSchemas, patient } from '../../support/harness.js';

const pgUrl = process.env['TRESOR_TEST_PG_URL'];

/**
 * Disaster recovery on PostgreSQL (issue #7.4, whole deployment): the machine and its database
 * are gone; a new, empty deployment (another schema prefix here, standing for a new database)
 * with the same master key and backup key takes the whole snapshot, and serves every tenant as
 * it was — except what was erased after the snapshot, which stays erased.
 */
describe('restore a whole PostgreSQL deployment into an empty one', { skip: pgUrl === undefined && 'no PostgreSQL (TRESOR_TEST_PG_URL)' }, () => {
  const dirs: string[] = [];
  const prefixes: string[] = [];
  const apps: Tresor[] = [];
  after(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    for (const prefix of prefixes) await dropPgSchemas(prefix);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const quiet = () => new Writable({ write: (_c, _e, done) => done() });
  const deployment = async (repository: string, backupKey: string, masterKeyFile?: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-dr-'));
    const schemaPrefix = `t${randomBytes(5).toString('hex')}`;
    dirs.push(dataDir);
    prefixes.push(schemaPrefix);
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        log: { level: 'warn' },
        server: { tls: { enabled: false } },
        storage: { engine: 'postgres', postgres: { url: pgUrl, schemaPrefix, poolSize: 5 } },
        backup: { repository, key: backupKey, schedule: false },
        ...(masterKeyFile === undefined ? {} : { keys: { masterKeyFile } }),
      },
    });
    const app = await buildApp(config, { logDestination: quiet() });
    apps.push(app);
    return { app, dataDir };
  };
  const call = (app: Tresor, key: string, method: string, url: string, body?: unknown) =>
    app.http.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });

  it('brings every tenant back into a new deployment, erasures included; refuses a deployment that has data', async () => {
    const repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    dirs.push(repository);
    const backupKey = generateBackupKey();
    const { app: old, dataDir } = await deployment(repository, backupKey);
    await old.tenants.create('clinic');
    await old.tenants.create('other');
    const clinic = (await old.apiKeys.create({ tenantId: 'clinic', role: 'service' })).key;
    const other = (await old.apiKeys.create({ tenantId: 'other', role: 'service' })).key;
    const kept = JSON.parse((await call(old, clinic, 'POST', '/tenants/clinic/fhir/Patient', patient({ name: [{ family: 'Kept', given: ['K'] }] }))).body).id as string;
    const erased = JSON.parse((await call(old, clinic, 'POST', '/tenants/clinic/fhir/Patient', patient({ name: [{ family: 'ErasedLater', given: ['E'] }] }))).body).id as string;
    const elsewhere = JSON.parse((await call(old, other, 'POST', '/tenants/other/fhir/Patient', patient())).body).id as string;
    const snapshot = (await old.backups.run()).manifest.id;
    // After the snapshot: a patient erased; the next backup carries the tombstone.
    await old.keys.shred('clinic', `Patient/${erased}`);
    await old.records.erase({ tenantId: 'clinic', db: await old.storage.tenant('clinic') }, `Patient/${erased}`);
    await old.backups.run();
    await assert.rejects(old.backups.restoreDeployment(snapshot, { actor: { id: 'test', role: 'backup-operator', client: 'test' } }), (e) => e instanceof BackupError && e.code === 'restore-refused' && /empty/.test(e.message));
    await old.close();
    apps.splice(apps.indexOf(old), 1);

    // The new deployment: same master key and backup key, nothing else.
    const { app: fresh } = await deployment(repository, backupKey, join(dataDir, 'master-key.json'));
    const result = await fresh.backups.restoreDeployment(snapshot, { actor: { id: 'test', role: 'backup-operator', client: 'test' } });
    assert.equal(result.dataSets, 5, 'platform, key store, two tenants, the operators');
    assert.ok(result.keysDestroyed >= 1, 'the tombstone destroyed the erased patient’s key, alive in the snapshot');
    const read = (key: string, tenant: string, id: string) => call(fresh, key, 'GET', `/tenants/${tenant}/fhir/Patient/${id}`);
    const back = await read(clinic, 'clinic', kept);
    assert.equal(back.statusCode, 200, back.body);
    assert.equal(JSON.parse(back.body).name[0].family, 'Kept');
    assert.equal((await read(other, 'other', elsewhere)).statusCode, 200, 'the API keys came back with the platform data');
    const gone = await read(clinic, 'clinic', erased);
    assert.notEqual(gone.statusCode, 200);
    assert.ok(!gone.body.includes('ErasedLater'));
    for (const tenant of ['clinic', 'other', 'operators']) assert.deepEqual((await fresh.audit.verify(tenant)).findings, [], `${tenant}'s trail verifies`);
    assert.equal((await call(fresh, clinic, 'POST', '/tenants/clinic/fhir/Patient', patient())).statusCode, 201, 'and takes new writes');
  });
});
