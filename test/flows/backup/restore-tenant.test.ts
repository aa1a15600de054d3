import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateBackupKey } from '../../../src/backup/index.js';
import { engines, errorCode, json, patient, observation, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';

/**
 * Restoring one tenant into the running system (issue #7.4): only a backup operator may; the
 * swap is atomic and leaves every other tenant untouched (one keeps writing throughout); the
 * tenant's audit trail still verifies, with the restore in it; the state before is kept as a
 * snapshot (a restore can be undone); and an erased patient stays erased (issue #7.6).
 */
for (const engine of engines()) {
  describe(`restore one tenant into the running system [${engine}]`, () => {
    let t: TestApp;
    let repository: string;
    let clinic: string;
    let other: string;
    let backupOperator: Person;
    let platformOperator: Person;
    const ids: Record<string, string> = {};
    let snapshot = '';

    const create = async (tenant: string, key: string, family: string) => {
      const response = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient({ name: [{ family, given: ['Test'] }] }) });
      assert.equal(response.statusCode, 201, response.body);
      return json(response)['id'] as string;
    };
    const read = (tenant: string, key: string, id: string) => t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key });
    const familyOf = async (tenant: string, key: string, id: string) => {
      const response = await read(tenant, key, id);
      return response.statusCode === 200 ? (json(response)['name'][0]['family'] as string) : response.statusCode;
    };

    before(async () => {
      repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
      t = await startTestApp(engine, { backup: { repository, key: generateBackupKey(), schedule: false } });
      clinic = await t.tenant('clinic', 'service');
      other = await t.tenant('other', 'service');
      backupOperator = await signInOperator(t, 'backup-operator', 'backups@tresor-hosting.example', () => new Date('2026-01-01T00:00:00Z').getTime());
      platformOperator = await signInOperator(t, 'operator', 'ops@tresor-hosting.example', () => new Date('2026-01-01T00:00:00Z').getTime());
      for (const name of ['kept', 'changed', 'deleted']) ids[name] = await create('clinic', clinic, name);
      ids['erased'] = await create('clinic', clinic, 'ErasedFamilyName');
      const obs = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key: clinic, body: observation(ids['erased'] as string) });
      assert.equal(obs.statusCode, 201, obs.body);
    });
    after(async () => {
      await t.close();
      rmSync(repository, { recursive: true, force: true });
    });

    it('only the backup-operator role reaches the backup API (and it reaches nothing else)', async () => {
      assert.equal((await t.inject({ method: 'GET', url: '/platform/backups' })).statusCode, 401);
      const denied = await as(t, platformOperator, { method: 'GET', url: '/platform/backups' });
      assert.equal(denied.statusCode, 403, denied.body);
      assert.equal((await as(t, backupOperator, { method: 'GET', url: '/platform/tenants' })).statusCode, 403, 'a backup operator does not run tenants');
      assert.equal((await as(t, backupOperator, { method: 'GET', url: '/tenants/clinic/fhir/Patient' })).statusCode, 401, 'nor reaches records');
      const created = await as(t, backupOperator, { method: 'POST', url: '/platform/backups', body: {}, headers: { 'content-type': 'application/json' } });
      assert.equal(created.statusCode, 201, created.body);
      snapshot = json(created)['id'];
      const listed = await as(t, backupOperator, { method: 'GET', url: '/platform/backups' });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(json(listed)['snapshots'].map((s: { id: string }) => s.id), [snapshot]);
      const verified = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshot}/verify`, body: {}, headers: { 'content-type': 'application/json' } });
      assert.equal(verified.statusCode, 200, verified.body);
      const unknown = await as(t, backupOperator, { method: 'POST', url: '/platform/backups/2020-01-01t00-00-00-000z-000000/verify', body: {}, headers: { 'content-type': 'application/json' } });
      assert.equal(unknown.statusCode, 404, unknown.body);
      assert.equal(errorCode(unknown), 'snapshot-not-found');
      const actions = (await t.app.audit.query('operators', { count: 50 })).filter((e) => e.actor.role === 'backup-operator').map((e) => e.action);
      for (const action of ['backup.created', 'backup.listed', 'backup.verified']) assert.ok(actions.includes(action as never), `${action} in the operators' trail`);
    });

    it('swaps the tenant back to the snapshot while another tenant keeps writing; the trail verifies; the state before is kept', async () => {
      // After the snapshot: a change, a deletion, a new record; and one patient erased.
      const changed = await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Patient/${ids['changed']}`, key: clinic, body: patient({ id: ids['changed'], name: [{ family: 'changed-later', given: ['Test'] }] }) });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await t.inject({ method: 'DELETE', url: `/tenants/clinic/fhir/Patient/${ids['deleted']}`, key: clinic })).statusCode, 204);
      ids['new'] = await create('clinic', clinic, 'new');
      assert.ok((await t.app.keys.shred('clinic', `Patient/${ids['erased']}`)) >= 1);
      await t.app.records.erase({ tenantId: 'clinic', db: await t.app.storage.tenant('clinic') }, `Patient/${ids['erased']}`);

      // The other tenant writes throughout the restore; every write must succeed.
      let writing = true;
      const written: string[] = [];
      const writer = (async () => {
        while (writing) written.push(await create('other', other, `other-${written.length}`));
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const restored = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshot}/restore`, body: { tenant: 'clinic' }, headers: { 'content-type': 'application/json' } });
      writing = false;
      await writer;
      assert.equal(restored.statusCode, 200, restored.body);
      const result = json(restored);
      assert.equal(result['restoredTo'], snapshot);
      assert.ok(written.length > 0, 'the other tenant wrote during the restore');
      for (const id of written) assert.equal((await read('other', other, id)).statusCode, 200, 'every write of the other tenant is there');

      assert.equal(await familyOf('clinic', clinic, ids['kept'] as string), 'kept');
      assert.equal(await familyOf('clinic', clinic, ids['changed'] as string), 'changed', 'the change after the snapshot is rolled back');
      assert.equal(await familyOf('clinic', clinic, ids['deleted'] as string), 'deleted', 'the deleted record is back');
      assert.equal(await familyOf('clinic', clinic, ids['new'] as string), 404, 'the record made after the snapshot is gone');
      const erased = await read('clinic', clinic, ids['erased'] as string);
      assert.notEqual(erased.statusCode, 200, `the erased patient stays erased after restoring an older snapshot: ${erased.body}`);
      assert.ok(!erased.body.includes('ErasedFamilyName'), `nothing of the erased record is shown: ${erased.body}`);

      const chain = await t.app.audit.verify('clinic');
      assert.deepEqual(chain.findings, [], 'the restored trail verifies, restore mark included');
      const trail = (await t.app.audit.query('clinic', { count: 20 })).map((e) => e.action);
      assert.ok(trail.includes('backup.restored'), 'the restore is in the tenant trail');
      assert.deepEqual((await t.app.audit.verify('other')).findings, []);

      // Undo: the state before the restore is a snapshot of its own.
      const before = result['preRestoreSnapshot'] as string;
      const undo = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${before}/restore`, body: { tenant: 'clinic' }, headers: { 'content-type': 'application/json' } });
      assert.equal(undo.statusCode, 200, undo.body);
      assert.equal(await familyOf('clinic', clinic, ids['new'] as string), 'new');
      assert.equal(await familyOf('clinic', clinic, ids['changed'] as string), 'changed-later');
      assert.notEqual((await read('clinic', clinic, ids['erased'] as string)).statusCode, 200);
      assert.deepEqual((await t.app.audit.verify('clinic')).findings, []);
    });

    it('a restore into a new directory re-applies the tombstones to the restored key store', { skip: engine !== 'sqlite' && 'the key store file is SQLite only' }, async () => {
      const to = mkdtempSync(join(tmpdir(), 'tresor-restore-'));
      try {
        rmSync(to, { recursive: true });
        const result = await t.app.backups.restoreTo(snapshot, to);
        assert.ok(result.keysDestroyed >= 1, 'the erased patient’s key, alive in the snapshot, is destroyed in the copy');
        const keys = new Database(join(to, 'keys.db'), { readonly: true });
        try {
          const live = keys.prepare('SELECT COUNT(*) FROM data_keys WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL').pluck().get('clinic', `Patient/${ids['erased']}`);
          assert.equal(live, 0);
        } finally {
          keys.close();
        }
      } finally {
        rmSync(to, { recursive: true, force: true });
      }
    });

    it('refuses a tenant the snapshot does not have, and an unknown tenant, with problem+json', async () => {
      const none = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshot}/restore`, body: { tenant: 'nowhere' }, headers: { 'content-type': 'application/json' } });
      assert.equal(none.statusCode, 404);
      assert.match(String(none.headers['content-type']), /problem\+json/);
      const bad = await as(t, backupOperator, { method: 'POST', url: `/platform/backups/${snapshot}/restore`, body: {}, headers: { 'content-type': 'application/json' } });
      assert.equal(bad.statusCode, 400);
    });
  });
}
