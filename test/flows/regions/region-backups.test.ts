import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey, loadBackupKey, openRepository } from '../../../src/backup/index.js';
import { readTombstones } from '../../../src/backup/tombstones.js';
import { dropPgSchemas, engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';

const tombstonesIn = async (repository: string, key: string) => {
  const repo = await openRepository(repository, {});
  try {
    return await readTombstones(repo, loadBackupKey({ env: key }));
  } finally {
    await repo.close();
  }
};

const json201 = { 'content-type': 'application/json' };

/**
 * Each region is backed up into its own repository: the home region's snapshots hold the platform
 * data set, the home key store and the home tenants; region B's hold B's key store and B's tenants
 * only. B's erasures go into B's tombstone list; a tenant of B is restored from B's snapshots (and
 * stays erased); the operators' API and console name the region; the tenant is no longer told that
 * its region is not backed up.
 */
for (const engine of engines()) {
  describe(`every region is backed up into its own repository [${engine}]`, () => {
    let t: TestApp;
    let dirB: string;
    let repoA: string;
    let repoB: string;
    const keyA = generateBackupKey();
    const keyB = generateBackupKey();
    const prefixB = `r${randomBytes(5).toString('hex')}`;
    let backupOperator: Person;
    let serviceB: string;
    let adminB: string;
    const ids: Record<string, string> = {};
    let snapshotB = '';

    before(async () => {
      dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
      repoA = mkdtempSync(join(tmpdir(), 'tresor-repo-a-'));
      repoB = mkdtempSync(join(tmpdir(), 'tresor-repo-b-'));
      const regionB = engine === 'postgres' ? { dataDir: dirB, postgres: { url: process.env['TRESOR_TEST_PG_URL'] as string, schemaPrefix: prefixB } } : { dataDir: dirB };
      t = await startTestApp(engine, {
        backup: { repository: repoA, key: keyA, schedule: false },
        retention: { job: { enabled: false } },
        regions: { b: { ...regionB, label: 'Switzerland', backup: { repository: repoB, key: keyB } } },
      });
      await t.app.tenants.create('bravo', 'Bravo', 'b');
      serviceB = await t.key('bravo', 'service');
      adminB = await t.key('bravo', 'tenant-admin');
      const serviceA = await t.tenant('alpha', 'service');
      for (const name of ['kept', 'erased']) {
        const made = await t.inject({ method: 'POST', url: '/tenants/bravo/fhir/Patient', key: serviceB, body: patient({ name: [{ family: name, given: ['Test'] }] }) });
        assert.equal(made.statusCode, 201, made.body);
        ids[name] = json(made)['id'];
      }
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/alpha/fhir/Patient', key: serviceA, body: patient() })).statusCode, 201);
      backupOperator = await signInOperator(t, 'backup-operator', 'backups@tresor-hosting.example', () => new Date('2026-01-01T00:00:00Z').getTime());
    });
    after(async () => {
      await t?.close();
      if (engine === 'postgres') await dropPgSchemas(prefixB);
      for (const dir of [dirB, repoA, repoB]) rmSync(dir, { recursive: true, force: true });
    });

    it('takes each region’s data sets into its own repository, through the API with ?region=', async () => {
      const home = await as(t, backupOperator, { method: 'POST', url: '/platform/backups', body: {}, headers: json201 });
      assert.equal(home.statusCode, 201, home.body);
      assert.equal(json(home)['region'], 'default');
      const inB = await as(t, backupOperator, { method: 'POST', url: '/platform/backups?region=b', body: {}, headers: json201 });
      assert.equal(inB.statusCode, 201, inB.body);
      snapshotB = json(inB)['id'];

      const listedA = json(await as(t, backupOperator, { method: 'GET', url: '/platform/backups' }));
      const listedB = json(await as(t, backupOperator, { method: 'GET', url: '/platform/backups?region=b' }));
      assert.deepEqual(listedA['regions'], [{ name: 'default', configured: true }, { name: 'b', configured: true }]);
      const setsOf = (listed: Record<string, any>) => (listed["snapshots"] as Array<{ dataSets: Array<{ kind: string; id: string }> }>).flatMap((s) => s.dataSets.map((d) => `${d.kind}:${d.id}`));
      assert.deepEqual(new Set(setsOf(listedB)), new Set(['keys:keys', 'tenant:bravo']), 'B’s repository: B’s key store and B’s tenant, nothing else');
      const inA = new Set(setsOf(listedA));
      for (const wanted of ['platform:platform', 'keys:keys', 'tenant:alpha', 'tenant:operators']) assert.ok(inA.has(wanted), wanted);
      assert.ok(!inA.has('tenant:bravo'), 'no data set of B in the home repository');

      const unknown = await as(t, backupOperator, { method: 'GET', url: '/platform/backups?region=mars' });
      assert.equal(unknown.statusCode, 404, unknown.body);
      const verified = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshotB}/verify?region=b`, body: {}, headers: json201 });
      assert.equal(verified.statusCode, 200, verified.body);
      // A snapshot of B is not one of A's.
      const wrong = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshotB}/verify`, body: {}, headers: json201 });
      assert.equal(wrong.statusCode, 404, wrong.body);
      const trail = (await t.app.audit.query('operators', { count: 50, actions: ['backup.created'] })).map((e) => e.detail ?? '');
      assert.ok(trail.some((d) => d.startsWith('region b: ')), 'the operators’ trail names the region');
    });

    it('records an erasure in B in B’s tombstone list only, and a restore of B’s tenant from B’s snapshot keeps it erased', async () => {
      // The clinic keeps no medical records duty here (the erasure tests cover that one).
      const settings = await t.inject({ method: 'PUT', url: '/tenants/bravo/privacy/retention', key: adminB, body: { medicalRecords: null }, headers: json201 });
      assert.equal(settings.statusCode, 200, settings.body);
      const erased = await t.inject({ method: 'POST', url: `/tenants/bravo/privacy/erasure/${ids['erased']}`, key: adminB, body: { reason: 'Art. 17(1)(a): asked by letter' }, headers: json201 });
      assert.equal(erased.statusCode, 200, erased.body);
      assert.equal(json(erased)['erasure']['tombstone'], 'recorded');
      assert.deepEqual((await tombstonesIn(repoB, keyB)).map((s) => `${s.tenant}/${s.subject}`), [`bravo/Patient/${ids['erased']}`]);
      assert.deepEqual(await tombstonesIn(repoA, keyA), [], 'the home repository learns nothing of B’s patients');

      // Restoring B's tenant names B's snapshot; asking for it from the home region is refused.
      const crossing = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshotB}/restore`, body: { tenant: 'bravo', region: 'default' }, headers: json201 });
      assert.equal(crossing.statusCode, 409, crossing.body);
      assert.equal(errorCode(crossing), 'restore-refused');
      const restored = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshotB}/restore`, body: { tenant: 'bravo' }, headers: json201 });
      assert.equal(restored.statusCode, 200, restored.body);
      assert.equal(json(restored)['restoredTo'], snapshotB);
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/bravo/fhir/Patient/${ids['erased']}`, key: serviceB })).statusCode, 410, 'erased before the restore, erased after it');
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/bravo/fhir/Patient/${ids['kept']}`, key: serviceB })).statusCode, 200);
      // The state before was kept in B's repository, not A's.
      const pre = json(restored)['preRestoreSnapshot'];
      assert.ok((await t.app.regionBackups.region('b').list()).some((s) => s.manifest.id === pre));
      assert.ok(!(await t.app.backups.list()).some((s) => s.manifest.id === pre));
    });

    it('a tenant moved into B is in a snapshot of B’s repository at once', async () => {
      const operator = await signInOperator(t, 'operator', 'ops@tresor-hosting.example', () => new Date('2026-01-01T00:00:00Z').getTime());
      const moved = await as(t, operator, { method: 'POST', url: '/platform/tenants/alpha/move', body: { to: 'b', reason: 'contract moved to the Swiss entity' }, headers: json201 });
      assert.equal(moved.statusCode, 200, moved.body);
      const snapshot = (json(moved)['backup'] as { snapshot?: string }).snapshot;
      assert.ok(typeof snapshot === 'string', moved.body);
      const taken = (await t.app.regionBackups.region('b').list()).find((s) => s.manifest.id === snapshot);
      assert.ok(taken?.manifest.dataSets.some((d) => d.kind === 'tenant' && d.id === 'alpha'), 'the moved tenant is in B’s snapshot');
      assert.ok(!(await t.app.backups.list()).some((s) => s.manifest.id === snapshot), 'not in the home repository');
    });

    it('restores region B’s snapshot into a new directory: B’s key store and tenants, no platform data set', { skip: engine === 'sqlite' ? false : 'a new directory takes SQLite files (PostgreSQL restores into an empty database)' }, async () => {
      const newest = (await t.app.regionBackups.region('b').list()).at(-1);
      assert.ok(newest !== undefined);
      const target = join(mkdtempSync(join(tmpdir(), 'tresor-restored-b-')), 'b');
      try {
        const result = await t.app.regionBackups.region('b').restoreTo(newest.manifest.id, target);
        assert.equal(result.dataSets, 1 + newest.manifest.dataSets.filter((d) => d.kind === 'tenant').length);
        assert.ok(existsSync(join(target, 'keys.db')));
        assert.ok(existsSync(join(target, 'tenants', 'bravo.db')));
        assert.ok(!existsSync(join(target, 'platform.db')));
      } finally {
        rmSync(join(target, '..'), { recursive: true, force: true });
      }
    });

    it('drills each region on its own, and the tenant is not told its region goes unbacked', async () => {
      const drill = await t.app.regionBackups.region('b').drill();
      assert.equal(drill.ok, true);
      assert.ok(existsSync(join(dirB, 'backup-drills.jsonl')), 'B’s drill report is kept in B');
      assert.match(readFileSync(join(dirB, 'backup-drills.jsonl'), 'utf8'), /"ok":true/);
      const region = json(await t.inject({ method: 'GET', url: '/tenants/bravo/region', key: serviceB }));
      assert.ok(!region['notRegionalised'].some((c: { id: string }) => c.id === 'backups'), 'backups are regionalised');
      const status = await t.app.regionBackups.worstStatus();
      assert.ok(status.lastSnapshotAt !== undefined);
    });
  });
}

/** The server's schedule takes, prunes and drills every region, and /metrics names each. */
describe('the backup schedule covers every region [sqlite]', () => {
  let t: TestApp;
  let dirB: string;
  let repoA: string;
  let repoB: string;

  before(async () => {
    dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
    repoA = mkdtempSync(join(tmpdir(), 'tresor-repo-a-'));
    repoB = mkdtempSync(join(tmpdir(), 'tresor-repo-b-'));
    t = await startTestApp(
      'sqlite',
      { backup: { repository: repoA, key: generateBackupKey(), schedule: true }, regions: { b: { dataDir: dirB, backup: { repository: repoB, key: generateBackupKey() } } } },
      { backupSchedule: { everyMs: 300, drillEveryMs: 60_000, firstAfterMs: 10 } },
    );
    await t.app.tenants.create('bravo', 'Bravo', 'b');
    await t.tenant('alpha');
  });
  after(async () => {
    await t?.close();
    for (const dir of [dirB, repoA, repoB]) rmSync(dir, { recursive: true, force: true });
  });

  it('snapshots and drills both regions, each series labelled with its region', async () => {
    const done = async () => {
      for (const name of ['default', 'b']) {
        const status = await t.app.regionBackups.region(name).sharedStatus();
        if (status.lastSnapshotAt === undefined || status.lastDrill === undefined) return false;
      }
      return true;
    };
    for (let i = 0; i < 200 && !(await done()); i += 1) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await done(), 'both regions have a snapshot and a drill');
    const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
    for (const region of ['default', 'b']) {
      assert.match(metrics, new RegExp(`^tresor_backup_last_snapshot_timestamp_seconds\\{region="${region}"\\} \\d`, 'm'));
      assert.match(metrics, new RegExp(`^tresor_backup_last_drill_success\\{region="${region}"\\} 1$`, 'm'));
      assert.match(metrics, new RegExp(`^tresor_backup_restore_seconds\\{region="${region}"\\} `, 'm'));
    }
    assert.ok(existsSync(join(dirB, 'backup-drills.jsonl')));
    assert.ok(existsSync(join(t.dataDir, 'backup-drills.jsonl')));
  });
});
