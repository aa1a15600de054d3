import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresor } from '../../support/cli.js';
import { observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { filesUnder } from '../../support/files.js';
import { loadBackupKey, openRepository, readManifest } from '../../../src/backup/index.js';
import { sshdSkipReason, startSshd, type TestSshd } from '../../support/sshd.js';

/**
 * `tresor backup` on a running deployment (SQLite): snapshots taken while the server runs,
 * listed, verified end to end, restored into a new directory that a new server starts on; what
 * reaches the repository is ciphertext under keyed names; damage is found and named.
 */
describe('tresor backup run | list | verify | restore (SQLite)', () => {
  let t: TestApp;
  let key: string;
  let repository: string;
  const marker = `BACKUPMARKER${randomBytes(4).toString('hex')}`;
  const scratch: string[] = [];
  const cli = (args: string[], env: Record<string, string> = {}) => tresor(['backup', ...args, '--repository', repository], { TRESOR_DATA_DIR: t.dataDir, ...env });
  let first = '';

  before(async () => {
    t = await startTestApp('sqlite');
    key = await t.tenant('clinic');
    await t.tenant('other');
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    scratch.push(repository);
    for (let i = 0; i < 20; i++) {
      const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: `${marker}${i}`, given: ['Anna'] }] }) });
      await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key, body: observation(JSON.parse(created.body).id) });
    }
  });
  after(async () => {
    await t.close();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it('takes a snapshot of every data set while the server runs, and lists it', async () => {
    const run = cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    first = run.stdout.trim().split('\n').at(-1) as string;
    assert.match(first, /^\d{4}-\d{2}-\d{2}t[0-9-]+z-[0-9a-f]{6}$/);
    assert.match(run.stdout, /of 5 data sets/, 'platform, key store, two tenants, the operators');
    const list = cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${first}  `, 'm'));
    // The server is unaffected.
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?_count=1', key })).statusCode, 200);
    assert.equal(statSync(join(t.dataDir, 'backup-key.json')).mode & 0o077, 0, 'the backup key file is private');
  });

  it('stores ciphertext under keyed names only: no record content, no tenant id', () => {
    for (const file of filesUnder(repository)) {
      const data = readFileSync(file);
      assert.ok(!data.includes(marker) && !data.includes(Buffer.from(marker, 'utf16le')), `${file} holds a record in clear`);
      assert.ok(!file.includes('clinic'), `${file} names a tenant`);
    }
  });

  it('a second snapshot after a few writes stores only what changed', async () => {
    await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: 'Later', given: ['Lena'] }] }) });
    const run = cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    const added = Number(/: ([\d,]+) new chunks/.exec(run.stdout)?.[1]?.replace(/,/g, ''));
    const id = run.stdout.trim().split('\n').at(-1) as string;
    const manifest = await readManifest(await openRepository(repository), loadBackupKey({ file: join(t.dataDir, 'backup-key.json') }), id);
    const total = manifest.dataSets.reduce((n, d) => n + d.chunks.length, 0);
    // Small data sets here: a write touches a few pages of each (records, index, audit, a new data
    // key, the operators' trail of the backup itself). The ratio at scale is the bench's.
    assert.ok(added > 0 && added <= total / 2, `${added} new chunks of ${total}`);
  });

  it('verifies a snapshot end to end (every chunk, file hash, SQLite integrity, row counts)', () => {
    const verify = cli(['verify', '--all']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal((verify.stdout.match(/verified/g) ?? []).length, 2);
  });

  it('restores a snapshot into a new directory, and a server started on it has the data as it was then', async () => {
    const to = mkdtempSync(join(tmpdir(), 'tresor-restore-'));
    scratch.push(to);
    rmSync(to, { recursive: true });
    const restore = cli(['restore', '--snapshot', first, '--to', to]);
    assert.equal(restore.code, 0, restore.stderr);
    const restored = await buildApp(loadConfig({ env: {}, overrides: { dataDir: to, server: { tls: { enabled: false } }, keys: { masterKeyFile: join(t.dataDir, 'master-key.json') }, log: { level: 'silent' } } }));
    try {
      const found = await restored.http.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient?name=${marker.toLowerCase()}3`, headers: { authorization: `Bearer ${key}` } });
      assert.equal(found.statusCode, 200, found.body);
      assert.equal(JSON.parse(found.body).total, 1, 'the records as they were, readable with the same master key');
      const later = await restored.http.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?name=later', headers: { authorization: `Bearer ${key}` } });
      assert.equal(JSON.parse(later.body).total, 0, 'nothing written after the snapshot');
    } finally {
      await restored.close();
    }
    const refused = cli(['restore', '--snapshot', first, '--to', to]);
    assert.equal(refused.code, 1, 'never over an existing directory');
    assert.equal(cli(['restore', '--snapshot', first, '--to', t.dataDir]).code, 1, 'never over the live data');
  });

  it('restores one tenant alone, with the key store its records are sealed under', () => {
    const to = join(mkdtempSync(join(tmpdir(), 'tresor-restore-')), 'one');
    scratch.push(to);
    const restore = cli(['restore', '--snapshot', first, '--tenant', 'other', '--to', to]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(filesUnder(to).map((f) => f.slice(to.length)).sort(), ['/keys.db', '/tenants/other.db']);
  });

  it('names a damaged chunk and fails verification, leaving the live data untouched; another backup key opens nothing', async () => {
    const pack = filesUnder(join(repository, 'packs'))[0] as string;
    const original = readFileSync(pack);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] as number) ^ 0xff;
    writeFileSync(pack, damaged);
    const verify = cli(['verify', '--all']);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /FAILED/);
    writeFileSync(pack, original);
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?_count=1', key })).statusCode, 200);
    const otherKey = tresor(['backup', 'generate-key']).stdout.trim().split('\n').at(-1) as string;
    const wrong = cli(['list'], { TRESOR_BACKUP_KEY: otherKey });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /not signed by this backup key/);
  });
});

/** The same commands against an SFTP repository on a real OpenSSH server (Debian's), with strict host key checking. */
describe('tresor backup over SFTP (real sshd)', { skip: sshdSkipReason() }, () => {
  let t: TestApp;
  let sshd: TestSshd;
  let keyFile: string;
  before(async () => {
    t = await startTestApp('sqlite');
    const key = await t.tenant('clinic');
    await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    sshd = await startSshd();
    keyFile = join(t.dataDir, 'sftp-key');
    writeFileSync(keyFile, sshd.privateKey, { mode: 0o600 });
  });
  after(async () => {
    await sshd?.stop();
    await t?.close();
  });

  it('runs, lists, verifies and restores through sftp://, and refuses a server whose host key does not match', () => {
    const location = `sftp://${sshd.user}@127.0.0.1:${sshd.port}${join(sshd.root, 'tresor-backups')}`;
    const env = { TRESOR_DATA_DIR: t.dataDir, TRESOR_BACKUP_SFTP_KEY_FILE: keyFile, TRESOR_BACKUP_SFTP_HOST_KEY: sshd.hostKeySha256 };
    const run = tresor(['backup', 'run', '--repository', location], env);
    assert.equal(run.code, 0, run.stderr + sshd.log());
    assert.ok(!run.stdout.includes(sshd.privateKey.slice(40, 80)) && !run.stderr.includes('PRIVATE KEY'), 'no key material in the output');
    const id = run.stdout.trim().split('\n').at(-1) as string;
    const verify = tresor(['backup', 'verify', '--snapshot', id, '--repository', location], env);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const to = join(mkdtempSync(join(tmpdir(), 'tresor-restore-')), 'sftp');
    assert.equal(tresor(['backup', 'restore', '--snapshot', id, '--tenant', 'clinic', '--to', to, '--repository', location], env).code, 0);
    assert.deepEqual(filesUnder(to).map((f) => f.slice(to.length)).sort(), ['/keys.db', '/tenants/clinic.db']);
    rmSync(to, { recursive: true, force: true });
    const spoofed = tresor(['backup', 'list', '--repository', location], { ...env, TRESOR_BACKUP_SFTP_HOST_KEY: `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}` });
    assert.equal(spoofed.code, 1);
    assert.match(spoofed.stderr, /host key/i);
  });
});
