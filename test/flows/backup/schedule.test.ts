import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { BackupError, generateBackupKey, loadBackupKey, openRepository } from '../../../src/backup/index.js';
import { loadChunkIndex } from '../../../src/backup/packs.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { filesUnder } from '../../support/files.js';
import { mountTinyDisk, noTinyDisk } from '../../support/tiny-disk.js';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
const newRepository = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
  scratch.push(dir);
  return dir;
};

/**
 * Without any setup beyond a repository (issue #7.1, #7.5): the server snapshots on its own,
 * runs a restore drill, and shows RTO and RPO as measured in /metrics and in the drill report.
 */
describe('the server takes snapshots and runs restore drills by itself (SQLite)', () => {
  let t: TestApp;
  after(() => t?.close());

  it('snapshots every interval, drills, and reports RTO and RPO in /metrics and the drill report', async () => {
    const repository = newRepository();
    t = await startTestApp('sqlite', { backup: { repository, key: generateBackupKey() } }, { backupSchedule: { everyMs: 500, drillEveryMs: 3_600_000, firstAfterMs: 10 } });
    const key = await t.tenant('clinic');
    assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
    const drill = await until('a restore drill', () => t.app.backups.status().lastDrill);
    assert.equal(drill.ok, true, JSON.stringify(drill));
    assert.ok((drill.restoreSeconds ?? -1) > 0);
    await until('a second snapshot', () => (filesUnder(join(repository, 'snapshots')).filter((f) => f.endsWith('.manifest')).length >= 2 ? true : undefined));

    const metrics = await t.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    for (const name of ['tresor_backup_rpo_seconds', 'tresor_backup_restore_seconds', 'tresor_backup_last_snapshot_timestamp_seconds', 'tresor_backup_last_drill_timestamp_seconds']) {
      assert.match(metrics.body, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), `${name} in /metrics`);
    }
    assert.match(metrics.body, /^tresor_backup_last_drill_success 1$/m);

    const report = readFileSync(join(t.dataDir, 'backup-drills.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; snapshot: string; restoreSeconds: number; rpoSeconds: number });
    assert.equal(report.length, 1, 'one drill a day, not one per snapshot');
    assert.equal(report[0]?.ok, true);
    assert.ok(existsSync(join(repository, 'snapshots', `${report[0]?.snapshot}.verified`)), 'the drilled snapshot is marked verified in the repository');
    const trail = (await t.app.audit.query('operators', { count: 50 })).filter((e) => e.actor.id === 'system:backup').map((e) => e.action);
    assert.ok(trail.includes('backup.created') && trail.includes('backup.verified'), trail.join());
  });
});

for (const engine of engines()) {
  describe(`retention runs after every backup and prune removes only what no snapshot needs [${engine}]`, () => {
    let t: TestApp;
    after(() => t?.close());

    it('keeps exactly what the policy says (and the newest verified), and every kept snapshot still verifies', async () => {
      const repository = newRepository();
      const clock = fixedClock(new Date('2026-01-15T12:00:00Z'));
      const backupKey = generateBackupKey();
      t = await startTestApp(engine, { backup: { repository, key: backupKey, schedule: false, retention: { allForHours: 1, dailyForDays: 2, monthlyForMonths: 2 } } }, { clock });
      const key = await t.tenant('clinic');
      const at = async (iso: string) => {
        clock.set(new Date(iso));
        assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient({ name: [{ family: iso, given: ['T'] }] }) })).statusCode, 201);
        return (await t.app.backups.run()).manifest.id;
      };
      const january = await at('2026-01-15T12:00:00Z');
      await t.app.backups.verify(january);
      const feb27 = await at('2026-02-27T12:00:00Z');
      const feb28morning = await at('2026-02-28T10:00:00Z');
      const feb28night = await at('2026-02-28T23:00:00Z');
      const packsBefore = filesUnder(join(repository, 'packs')).length;
      const mar1a = await at('2026-03-01T00:10:00Z');
      const mar1b = await at('2026-03-01T00:40:00Z');

      const kept = (await t.app.backups.list()).map((s) => s.manifest.id);
      assert.deepEqual(kept, [january, feb28night, mar1a, mar1b], 'January: newest verified; 28 Feb: newest of its day and month; 1 March: recent');
      assert.ok(![feb27, feb28morning].some((id) => kept.includes(id)));
      // No pack is left that no kept snapshot uses a chunk of.
      const index = await loadChunkIndex(await openRepository(repository), loadBackupKey({ env: backupKey }));
      const used = new Set((await t.app.backups.list()).flatMap((x) => x.manifest.dataSets.flatMap((d) => d.chunks)).map((c) => index.get(c)?.pack));
      const stored = filesUnder(join(repository, 'packs')).map((f) => f.slice(repository.length + 1));
      assert.deepEqual(stored.filter((p) => !used.has(p)), [], 'packs only dropped snapshots used went');
      assert.ok(stored.length <= packsBefore + 2);
      for (const id of kept) await t.app.backups.verify(id);

      // A pack no index names (a killed backup's) goes at the next explicit prune.
      mkdirSync(join(repository, 'packs', '00'), { recursive: true });
      const orphan = join(repository, 'packs', '00', `00${'0'.repeat(30)}.pack`);
      writeFileSync(orphan, 'orphan');
      const { pruned } = await t.app.backups.maintain();
      assert.ok(pruned.packs >= 1);
      assert.equal(existsSync(orphan), false);
      // Every kept snapshot was verified above, so the newest verified is now 1 March's: January goes.
      const after = (await t.app.backups.list()).map((s) => s.manifest.id);
      assert.deepEqual(after, [feb28night, mar1a, mar1b]);
      for (const id of after) await t.app.backups.verify(id);
      const trail = (await t.app.audit.query('operators', { count: 100 })).map((e) => e.action);
      assert.ok(trail.includes('backup.pruned'));
    });
  });
}

describe('failures: a clear error, counted, logged as an alert-worthy event, audited; nothing marked complete', () => {
  let t: TestApp;
  after(() => t?.close());

  it('a repository location that cannot be used', async () => {
    const parent = newRepository();
    writeFileSync(join(parent, 'a-file'), 'not a directory');
    t = await startTestApp('sqlite', { backup: { repository: join(parent, 'a-file', 'repo'), key: generateBackupKey(), schedule: false } });
    await t.tenant('clinic');
    await assert.rejects(t.app.backups.run(), (e) => e instanceof BackupError && e.code === 'repository-invalid' && /not a directory/.test(e.message));
    assert.equal(t.app.backups.status().failures['run'], 1);
    const failures = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['event'] === 'backup.failed');
    assert.equal(failures.filter((l) => l['operation'] === 'tombstones').length, 1, 'the start could not read the tombstone list either, and said so');
    const logged = failures.filter((l) => l['operation'] === 'run');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.['level'], 50, 'logged as an error');
    const trail = await t.app.audit.query('operators', { count: 10 });
    assert.ok(trail.some((e) => e.action === 'backup.failed' && e.outcome === 'failure'));
    const metrics = await t.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^tresor_backup_failures_total\{operation="run"\} 1$/m);
  });

  it('a snapshot of a tampered audit trail fails verify (trail checked up to the snapshot\'s end) and is never restored in place', async () => {
    const repository = newRepository();
    const app = await startTestApp('sqlite', { backup: { repository, key: generateBackupKey(), schedule: false } });
    try {
      const key = await app.tenant('clinic');
      for (let i = 0; i < 3; i++) assert.equal((await app.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
      await app.app.audit.checkpoint('clinic');
      const good = (await app.app.backups.run()).manifest.id;
      // Later events and checkpoints do not make the older snapshot's trail look cut short.
      for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
      await app.app.audit.checkpoint('clinic');
      await app.app.backups.verify(good);
      const db = await app.app.storage.tenant('clinic');
      await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = 'someone-else' WHERE seq = 2`);
      const tampered = (await app.app.backups.run()).manifest.id;
      await assert.rejects(app.app.backups.verify(tampered), (e) => e instanceof BackupError && e.code === 'object-corrupt' && /audit trail .* event 2/.test(e.message));
      await assert.rejects(app.app.backups.restoreTenant(tampered, 'clinic', { actor: { id: 'test', role: 'backup-operator', client: 'test' } }), (e) => e instanceof BackupError && /audit trail/.test(e.message));
      assert.equal(app.app.backups.status().failures['verify'], 1);
    } finally {
      await app.close();
    }
  });

  it('a repository that fills up during a backup', async (c) => {
    const mount = join(newRepository(), 'disk');
    const unmount = mountTinyDisk(mount, '2m');
    if (unmount === undefined) {
      noTinyDisk(c, 'cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); repository.test.ts covers the error mapping');
      return;
    }
    const app = await startTestApp('sqlite', { backup: { repository: mount, key: generateBackupKey(), schedule: false } });
    try {
      const key = await app.tenant('clinic');
      const id = json(await app.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() }))['id'] as string;
      const raw = new Database(app.app.storage.describeTenant('clinic'));
      raw.exec('CREATE TABLE disk_test_filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
      const insert = raw.prepare('INSERT INTO disk_test_filler (data) VALUES (?)');
      raw.transaction(() => {
        for (let i = 0; i < 64; i++) insert.run(randomBytes(65536));
      })();
      raw.close();
      await assert.rejects(app.app.backups.run(), (e) => e instanceof BackupError && e.code === 'repository-full' && /live data is unaffected/.test(e.message));
      assert.deepEqual(filesUnder(join(mount, 'snapshots')).filter((f) => f.endsWith('.manifest')), [], 'no snapshot marked complete');
      assert.deepEqual(filesUnder(mount).filter((f) => f.endsWith('.tmp')), [], 'nothing half-written');
      assert.equal((await app.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${id}`, key })).statusCode, 200, 'the live data is served');
      assert.equal(app.app.backups.status().failures['run'], 1);
      assert.ok((await app.app.audit.query('operators', { count: 10 })).some((e) => e.action === 'backup.failed' && e.detail.includes('repository-full')));
    } finally {
      await app.close();
      unmount();
    }
  });

  it('an SFTP server that does not answer', { skip: spawnSync('ssh-keygen', ['-?']).error !== undefined && 'ssh-keygen is not installed' }, async () => {
    const dir = newRepository();
    const keyFile = join(dir, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const app = await startTestApp('sqlite', {
      backup: { repository: 'sftp://tresor@127.0.0.1:1/backups', key: generateBackupKey(), schedule: false, sftp: { privateKeyFile: keyFile, hostKeySha256: `SHA256:${'A'.repeat(43)}` } },
    });
    try {
      await assert.rejects(app.app.backups.run(), (e) => e instanceof BackupError && e.code === 'repository-unreachable');
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      assert.match(response.body, /^tresor_backup_failures_total\{operation="run"\} 1$/m);
      assert.ok(!app.logs.join('\n').includes(readFileSync(keyFile, 'utf8').split('\n')[1] as string), 'no key material in the logs');
    } finally {
      await app.close();
    }
  });
});

