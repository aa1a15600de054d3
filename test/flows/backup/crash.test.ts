import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateBackupKey } from '../../../src/backup/index.js';
import { cliMain, tresor } from '../../support/cli.js';
import { Writable } from 'node:stream';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { filesUnder } from '../../support/files.js';
import { json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** Starts `tresor <args>` and kills it with SIGKILL once `ready()` holds (or it ended by itself). */
async function killWhen(args: string[], env: Record<string, string>, ready: () => boolean): Promise<{ killed: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !ready()) await new Promise((resolve) => setTimeout(resolve, 5));
  if (done) return { killed: false };
  child.kill('SIGKILL');
  await exited;
  return { killed: true };
}

/**
 * kill -9 in the middle of a backup and of a restore (issue #7.7): no snapshot is marked complete
 * that is not, the repository stays consistent, the live data is untouched, and the next run
 * cleans up after the dead one.
 */
describe('backups killed with SIGKILL (SQLite)', () => {
  let t: TestApp | undefined;
  const dirs: string[] = [];
  after(async () => {
    await t?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a backup killed half-way leaves no snapshot, a consistent repository and live data untouched; the next run cleans up', async () => {
    const repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    dirs.push(repository);
    const backupKey = generateBackupKey();
    t = await startTestApp('sqlite', { backup: { repository, key: backupKey, schedule: false } });
    const key = await t.tenant('clinic');
    const created = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() }))['id'] as string;
    const first = (await t.app.backups.run()).manifest.id;
    // Enough incompressible bytes that the upload takes a while: 48 MiB in a table of the tenant's file.
    const file = t.app.storage.describeTenant('clinic');
    const raw = new Database(file);
    raw.exec('CREATE TABLE crash_test_filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    const insert = raw.prepare('INSERT INTO crash_test_filler (data) VALUES (?)');
    raw.transaction(() => {
      for (let i = 0; i < 768; i++) insert.run(randomBytes(65536));
    })();
    raw.close();

    const env = { TRESOR_DATA_DIR: t.dataDir, TRESOR_BACKUP_REPOSITORY: repository, TRESOR_BACKUP_KEY: backupKey };
    // Killed once it has written a few packs (temporaries until the snapshot's flush).
    const packsBefore = filesUnder(join(repository, 'packs')).length;
    const { killed } = await killWhen(['backup', 'run'], env, () => filesUnder(join(repository, 'packs')).length > packsBefore + 2);
    assert.ok(killed, 'the backup was killed while uploading');
    assert.deepEqual(
      filesUnder(join(repository, 'snapshots')).filter((f) => f.endsWith('.manifest')).map((f) => f.slice(f.lastIndexOf('/') + 1)),
      [`${first}.manifest`],
      'no manifest: the killed backup is not a snapshot',
    );
    assert.ok(readdirSync(t.dataDir).some((n) => n.startsWith('.backup-')), 'its scratch copy is left until the next run');

    // The live data is untouched and served.
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${created}`, key })).statusCode, 200);
    // The repository is consistent: the complete snapshot verifies.
    const verify = tresor(['backup', 'verify', '--all'], env);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // The next run removes the dead run's scratch copy, and its lock does not hold anything up.
    const again = tresor(['backup', 'run'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /skipped/, 'the dead process’s lock was recognised as stale');
    assert.ok(!readdirSync(t.dataDir).some((n) => n.startsWith('.backup-')), 'the scratch copy is gone');
    assert.deepEqual(filesUnder(join(repository, 'locks')), [], 'no lock left behind');
    assert.equal(tresor(['backup', 'verify', '--all'], env).code, 0);
  });

  it('a restore killed half-way leaves the live tenant whole (old or new, never a mix), and a later restore works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-data-'));
    const repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    dirs.push(dataDir, repository);
    const backupKey = generateBackupKey();
    const config = loadConfig({ env: {}, overrides: { dataDir, log: { level: 'warn' }, server: { tls: { enabled: false } }, backup: { repository, key: backupKey, schedule: false } } });
    const familyOf = async (app: Tresor, key: string, id: string) => {
      const response = await app.http.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${id}`, headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.statusCode, 200, response.body);
      return JSON.parse(response.body).name[0].family as string;
    };
    let app = await buildApp(config, { logDestination: new Writable({ write: (_c, _e, done) => done() }) });
    await app.tenants.create('clinic');
    const key = (await app.apiKeys.create({ tenantId: 'clinic', role: 'service' })).key;
    const write = (body: unknown, method = 'POST', url = '/tenants/clinic/fhir/Patient') =>
      app.http.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(body) });
    const id = JSON.parse((await write(patient({ name: [{ family: 'before', given: ['T'] }] }))).body).id as string;
    for (let i = 0; i < 200; i++) await write(patient());
    const snapshot = (await app.backups.run()).manifest.id;
    assert.equal((await write(patient({ id, name: [{ family: 'after', given: ['T'] }] }), 'PUT', `/tenants/clinic/fhir/Patient/${id}`)).statusCode, 200);
    await app.close();

    const env = { TRESOR_DATA_DIR: dataDir, TRESOR_BACKUP_REPOSITORY: repository, TRESOR_BACKUP_KEY: backupKey };
    const { killed } = await killWhen(['backup', 'restore', '--snapshot', snapshot, '--tenant', 'clinic'], env, () => readdirSync(dataDir).some((n) => n.startsWith('.restore-')));
    assert.ok(killed, 'the restore was killed while it staged the snapshot');
    const file = join(dataDir, 'tenants', 'clinic.db');
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok', 'the live file is whole');
    raw.close();
    app = await buildApp(config, { logDestination: new Writable({ write: (_c, _e, done) => done() }) });
    assert.ok(['before', 'after'].includes(await familyOf(app, key, id)), 'old or new, never a mix');
    assert.deepEqual((await app.audit.verify('clinic')).findings, []);
    await app.close();

    const restore = tresor(['backup', 'restore', '--snapshot', snapshot, '--tenant', 'clinic'], env);
    assert.equal(restore.code, 0, restore.stdout + restore.stderr);
    assert.ok(!readdirSync(dataDir).some((n) => n.startsWith('.restore-')), 'the dead restore’s scratch is gone');
    app = await buildApp(config, { logDestination: new Writable({ write: (_c, _e, done) => done() }) });
    try {
      assert.equal(await familyOf(app, key, id), 'before');
      assert.deepEqual((await app.audit.verify('clinic')).findings, []);
    } finally {
      await app.close();
    }
  });

  it('the CLI refuses to swap a tenant under a running server (SQLite): the server must do it', async () => {
    assert.ok(t !== undefined);
    const repository = dirs[0] as string;
    const id = (await t.app.backups.list()).at(-1)?.manifest.id as string;
    const refused = tresor(['backup', 'restore', '--snapshot', id, '--tenant', 'clinic', '--repository', repository], { TRESOR_DATA_DIR: t.dataDir, TRESOR_BACKUP_KEY: 'unused' });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /server \(process \d+\) runs .*POST \/platform\/backups\//);
  });
});
