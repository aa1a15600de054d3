import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { generateBackupKey } from '../../../src/backup/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresorHere } from '../../support/cli.js';
import { dropPgSchemas, engines, json, patient, startTestApp, type EngineName, type TestApp } from '../../support/harness.js';
import { as, signInOperator } from '../../support/people.js';

/**
 * A snapshot taken before a key rotation stays readable after it: the tenant's key-encryption
 * and data keys travel inside the snapshot's key store, and the master key versions that key
 * store is wrapped under are kept until retention has pruned the last snapshot needing them.
 * `verify` opens sealed fields with the keys the deployment has now, so a snapshot it could not
 * read fails verification; and a restore that lacks a key refuses before it changes anything.
 */
for (const engine of engines()) {
  describe(`a snapshot taken before key rotations stays readable [${engine}]`, () => {
    let t: TestApp;
    let repository: string;
    let key: string;
    let id = '';
    let snapshot = '';
    let restarted: Tresor | undefined;
    const marker = `Rotatedfamily${randomBytes(3).toString('hex')}`;
    const backupKey = generateBackupKey();
    const env = () => ({
      TRESOR_DATA_DIR: t.dataDir,
      TRESOR_BACKUP_REPOSITORY: repository,
      TRESOR_BACKUP_KEY: backupKey,
      ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix } : {}),
    });
    const cli = (...args: string[]) => tresorHere(args, env());
    const reopen = (storage: EngineName) =>
      buildApp(
        loadConfig({
          env: {},
          overrides: {
            dataDir: t.dataDir,
            server: { tls: { enabled: false } },
            log: { level: 'silent' },
            backup: { repository, key: backupKey, schedule: false },
            storage: storage === 'postgres' ? { engine: 'postgres', postgres: { url: process.env['TRESOR_TEST_PG_URL'], schemaPrefix: t.schemaPrefix, poolSize: 3 } } : { engine: 'sqlite' },
          },
        }),
      );
    const readAll = async (http: Tresor['http']) => {
      const headers = { authorization: `Bearer ${key}` };
      const found = await http.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient?name=${marker.toLowerCase()}`, headers });
      const byId = await http.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${id}`, headers });
      return { found, byId };
    };

    before(async () => {
      repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
      t = await startTestApp(engine, { backup: { repository, key: backupKey, schedule: false } });
      key = await t.tenant('clinic');
      const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: marker, given: ['Rita'] }] }) });
      assert.equal(created.statusCode, 201, created.body);
      id = json(created)['id'];
    });
    after(async () => {
      await restarted?.close();
      if (restarted === undefined) await t.close();
      else {
        if (engine === 'postgres') await dropPgSchemas(t.schemaPrefix);
        rmSync(t.dataDir, { recursive: true, force: true });
      }
      rmSync(repository, { recursive: true, force: true });
    });

    it('backup, tenant rotation, master rotation, verify, restore through the API: the record reads', async () => {
      const run = await cli('backup', 'run');
      assert.equal(run.code, 0, run.stderr);
      snapshot = run.stdout.trim().split('\n').at(-1) as string;
      const tenant = await cli('keys', 'rotate', '--tenant', 'clinic');
      assert.equal(tenant.code, 0, tenant.stderr);
      const master = await cli('keys', 'rotate', '--master');
      assert.equal(master.code, 0, master.stderr);
      assert.doesNotMatch(master.stdout, /retired: master versions 1\b/, `master version 1 is still needed by snapshot ${snapshot}: ${master.stdout}`);

      const verify = await cli('backup', 'verify', '--snapshot', snapshot);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /verified/);

      const status = await cli('keys', 'status');
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /master key version 1: kept for backups only \(1 snapshot\), until /, status.stdout);

      const operator = await signInOperator(t, 'backup-operator', 'backups@tresor-hosting.example', () => new Date('2026-01-01T00:00:00Z').getTime());
      const restored = await as(t, operator, { method: 'POST', url: `/platform/backups/${snapshot}/restore`, body: { tenant: 'clinic' }, headers: { 'content-type': 'application/json' } });
      assert.equal(restored.statusCode, 200, restored.body);
      const { found, byId } = await readAll(t.app.http);
      assert.equal(found.statusCode, 200, found.body);
      assert.equal(json(found)['total'], 1);
      assert.equal(byId.statusCode, 200, byId.body);
      assert.equal(json(byId)['name'][0]['family'], marker);
      const write = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
      assert.equal(write.statusCode, 201, write.body);
    });

    it('the same restore by the CLI with the server stopped: a server started afterwards reads the record', async () => {
      await t.app.close();
      const restore = await cli('backup', 'restore', '--snapshot', snapshot, '--tenant', 'clinic');
      assert.equal(restore.code, 0, restore.stdout + restore.stderr);
      restarted = await reopen(engine);
      const { found, byId } = await readAll(restarted.http);
      assert.equal(found.statusCode, 200, found.body);
      assert.equal(json(found)['total'], 1);
      assert.equal(byId.statusCode, 200, byId.body);
      assert.equal(json(byId)['name'][0]['family'], marker);
    });

    it('with a needed master key version destroyed, verify fails naming it and a restore refuses, changing nothing', async () => {
      const file = join(t.dataDir, 'master-key.json');
      const ring = JSON.parse(readFileSync(file, 'utf8')) as { current: number; keys: Record<string, string> };
      assert.ok(ring.keys['1'] !== undefined && ring.current === 2);
      delete ring.keys['1'];
      writeFileSync(file, JSON.stringify(ring), { mode: 0o600 });

      const verify = await cli('backup', 'verify', '--snapshot', snapshot);
      assert.equal(verify.code, 1, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /FAILED — .*master key version 1/);

      const write = await restarted!.http.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(patient({ name: [{ family: 'Afterwards' }] })) });
      assert.equal(write.statusCode, 201, write.body);
      const later = json(write)['id'] as string;
      await restarted!.close();
      restarted = undefined;
      const restore = await cli('backup', 'restore', '--snapshot', snapshot, '--tenant', 'clinic');
      assert.equal(restore.code, 1, restore.stdout + restore.stderr);
      assert.match(restore.stderr, /master key version 1/);
      restarted = await reopen(engine);
      const kept = await restarted.http.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${later}`, headers: { authorization: `Bearer ${key}` } });
      assert.equal(kept.statusCode, 200, `nothing was swapped: the record written after the snapshot is still there: ${kept.body}`);

      // The server's own verify (the daily drill's path) fails the same way, and says so in /metrics,
      // which counts for the whole deployment: the CLI's verify and restore above, and this one.
      await assert.rejects(restarted.backups.verify(snapshot), (error: { code?: string }) => error.code === 'keys-unreadable');
      const metrics = await restarted.http.inject({ method: 'GET', url: '/metrics' });
      assert.equal(metrics.statusCode, 200, metrics.body);
      assert.match(metrics.body, /^tresor_backup_unreadable_total\{operation="verify"\} 2$/m);
      assert.match(metrics.body, /^tresor_backup_unreadable_total\{operation="restore"\} 1$/m);
    });
  });
}

/**
 * The other half of the rule: once retention has pruned the last snapshot holding a master
 * version, the next master rotation destroys it.
 */
describe('a master version kept for backups is destroyed once retention has pruned its last snapshot [sqlite]', () => {
  let t: TestApp;
  let repository: string;
  let now = Date.parse('2026-01-10T12:00:00Z');
  const clock = { now: () => new Date((now += 1)) };
  before(async () => {
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    t = await startTestApp('sqlite', { backup: { repository, key: generateBackupKey(), schedule: false, retention: { allForHours: 1, dailyForDays: 1, monthlyForMonths: 1 } } }, { clock, rotationOptions: { settleMs: 10 } });
    const key = await t.tenant('clinic');
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
  });
  after(async () => {
    await t.close();
    rmSync(repository, { recursive: true, force: true });
  });

  const rotateMaster = async () => {
    const { job } = await t.app.rotation.start('master');
    return t.app.rotation.run(job.id);
  };
  const ringVersions = () => Object.keys((JSON.parse(readFileSync(join(t.dataDir, 'master-key.json'), 'utf8')) as { keys: Record<string, string> }).keys).sort();

  it('keeps version 1 while a snapshot needs it, and destroys it at the first rotation after that snapshot was pruned', async () => {
    const first = await t.app.backups.run();
    const rotated = await rotateMaster();
    assert.match(rotated.retired ?? '', /kept for backups: master versions 1/);
    assert.deepEqual(ringVersions(), ['1', '2']);
    assert.ok((await t.app.keys.holds()).some((h) => h.holder === `snapshot:${first.manifest.id}` && h.masterVersion === 1));

    // Two months on, the next backup's retention drops the first snapshot and releases its hold.
    now += 62 * 86_400_000;
    const second = await t.app.backups.run();
    assert.deepEqual(second.retention?.drop, [first.manifest.id]);
    assert.ok(!(await t.app.keys.holds()).some((h) => h.masterVersion === 1), 'no hold on version 1 is left');
    const again = await rotateMaster();
    assert.match(again.retired ?? '', /^master versions 1\b/);
    assert.deepEqual(ringVersions(), ['2', '3'], 'version 1 is destroyed; version 2 stays for the second snapshot');
  });
});
