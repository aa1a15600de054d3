import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { tresorHere } from '../../support/cli.js';
import { engines, patient, startTestApp, type TestApp } from '../../support/harness.js';

const sample = (body: string, name: string): string | undefined => new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(body)?.[1];

/**
 * Backups run from cron (`tresor backup … --repository`) while the server itself has no
 * repository: the server's /metrics shows what they did — last snapshot, RPO, last drill,
 * failures — whichever process did the work.
 */
for (const engine of engines()) {
  describe(`/metrics shows backups, verifies and drills run by the CLI (${engine})`, () => {
    let t: TestApp | undefined;
    const repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    after(async () => {
      await t?.close();
      rmSync(repository, { recursive: true, force: true });
    });

    it('a server without a repository exports the outcome of CLI runs, verifies, drills and failures', async () => {
      t = await startTestApp(engine);
      const key = await t.tenant('clinic');
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() })).statusCode, 201);
      const env = {
        TRESOR_DATA_DIR: t.dataDir,
        TRESOR_BACKUP_KEY: generateBackupKey(),
        ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix } : {}),
      };
      const cli = (args: string[]) => tresorHere(['backup', ...args, '--repository', repository], env);
      const scrape = async () => (await t!.inject({ method: 'GET', url: '/metrics' })).body;

      assert.equal(sample(await scrape(), 'tresor_backup_last_snapshot_timestamp_seconds'), undefined, 'nothing to show before any backup');

      const before = Date.now();
      const run = await cli(['run']);
      assert.equal(run.code, 0, run.stderr);
      const taken = Number(sample(await scrape(), 'tresor_backup_last_snapshot_timestamp_seconds'));
      assert.ok(taken * 1000 >= before - 1000 && taken * 1000 <= Date.now(), `last snapshot time ${taken} is the CLI's snapshot`);
      assert.equal(sample(await scrape(), 'tresor_backup_rpo_seconds'), undefined, 'no verified snapshot yet');

      const verify = await cli(['verify']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.notEqual(sample(await scrape(), 'tresor_backup_rpo_seconds'), undefined, 'the RPO follows the CLI\'s verify');

      const drill = await cli(['drill']);
      assert.equal(drill.code, 0, drill.stderr);
      const afterDrill = await scrape();
      assert.equal(sample(afterDrill, 'tresor_backup_last_drill_success'), '1');
      assert.ok(Number(sample(afterDrill, 'tresor_backup_last_drill_timestamp_seconds')) * 1000 >= before - 1000);
      assert.ok(Number(sample(afterDrill, 'tresor_backup_restore_seconds')) >= 0);

      const missing = await cli(['verify', '--snapshot', '2020-01-01t00-00-00-000z-000000']);
      assert.equal(missing.code, 1);
      assert.equal(sample(await scrape(), 'tresor_backup_failures_total{operation="verify"}'), '1');

      // The shared record unreadable (here: gone): /metrics still answers, with this process's own view.
      await t.app.storage.platform.execute(`DROP TABLE ${t.app.storage.platform.table('backup_outcomes')}`);
      const degraded = await t.inject({ method: 'GET', url: '/metrics' });
      assert.equal(degraded.statusCode, 200);
      assert.match(degraded.body, /^tresor_http_requests_total|^# HELP tresor_backup_last_snapshot_timestamp_seconds/m);
    });
  });
}
