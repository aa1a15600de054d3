import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const snapshotsBy = (t: TestApp) => t.logs.filter((line) => line.includes('"event":"backup.created"')).length;
const leads = async (t: TestApp) => /tresor_scheduler_leader\{jobs="backups"\} 1/.test((await t.app.http.inject({ method: 'GET', url: '/metrics' })).body);

/**
 * Several nodes on one PostgreSQL deployment (issue #8.2): the scheduled backups run on one node
 * at a time — the one holding the deployment's advisory lock — and when that node goes, another
 * takes them over without a restart.
 */
describe('one node of a deployment takes the scheduled backups; another takes over when it goes [postgres]', { skip: !engines().includes('postgres') && 'no PostgreSQL' }, () => {
  const repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
  after(() => rmSync(repository, { recursive: true, force: true }));

  it('snapshots come from the leader only, and from the follower once the leader stops', async () => {
    const backup = { repository, key: generateBackupKey(), schedule: true };
    // The first node makes the schemas and schedules no backups (it may well lead the upkeep jobs:
    // another lock); the two others share the schemas.
    const owner = await startTestApp('postgres', { backup: { ...backup, schedule: false } });
    const schedule = { backupSchedule: { everyMs: 300, drillEveryMs: 86_400_000, firstAfterMs: 0 } };
    const b = await startTestApp('postgres', { backup }, schedule, { joins: owner.schemaPrefix });
    const c = await startTestApp('postgres', { backup }, schedule, { joins: owner.schemaPrefix });
    try {
      await until('a first scheduled snapshot', () => snapshotsBy(b) + snapshotsBy(c) >= 3);
      const [leader, follower] = snapshotsBy(b) > 0 ? [b, c] : [c, b];
      assert.equal(snapshotsBy(follower), 0, 'the follower took no snapshot');
      assert.equal(await leads(leader), true);
      assert.equal(await leads(follower), false);
      // The leader goes away: its connection, and with it the lock, ends.
      await leader.close();
      await until('the follower taking over', () => snapshotsBy(follower) >= 2);
      assert.equal(await leads(follower), true);
      await follower.close();
    } finally {
      await b.close().catch(() => undefined);
      await c.close().catch(() => undefined);
      await owner.close();
    }
  });
});
