import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { engines, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const main = join(import.meta.dirname, '../../../src/main.ts');

for (const engine of engines()) {
  describe(`key rotation killed with SIGKILL in the middle resumes [${engine}]`, () => {
    let t: TestApp;
    const written = new Map<string, string>();
    let env: Record<string, string>;

    before(async () => {
      // The server runs on the same data throughout, as it would in production.
      t = await startTestApp(engine);
      await t.app.tenants.create('clinic');
      const tenant = { tenantId: 'clinic', db: await t.app.storage.tenant('clinic') };
      for (let n = 0; n < 60; n += 1) {
        const p = await t.app.records.create(tenant, 'Patient', patient({ name: [{ family: `crash-${n}` }] }));
        written.set(`Patient/${p.id}`, `crash-${n}`);
        for (let o = 0; o < 4; o += 1) {
          const body = JSON.parse(JSON.stringify(observation(p.id, { valueQuantity: undefined, valueString: `crash-obs-${n}-${o}` })));
          written.set(`Observation/${(await t.app.records.create(tenant, 'Observation', body)).id}`, `crash-obs-${n}-${o}`);
        }
      }
      env = {
        PATH: process.env['PATH'] ?? '',
        TRESOR_DATA_DIR: t.dataDir,
        // Tiny batches: many commits, so there is a middle to kill it in.
        TRESOR_KEY_ROTATION_BATCH_ROWS: '2',
        ...(engine === 'postgres'
          ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix }
          : {}),
      };
    });
    after(() => t.close());

    it('survives kill -9 of the CLI mid-way, then finishes where it stopped, losing nothing', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', main, 'keys', 'rotate', '--tenant', 'clinic'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Wait until the job has saved progress, but is not through yet; then pull the plug.
      let seen: Awaited<ReturnType<TestApp['app']['rotation']['recent']>>[number] | undefined;
      for (let i = 0; i < 1500; i += 1) {
        seen = (await t.app.rotation.recent()).find((j) => j.tenantId === 'clinic');
        if (seen !== undefined && seen.rowsDone > 0) break;
        await sleep(20);
      }
      assert.ok(seen !== undefined && seen.rowsDone > 0 && seen.phase === 'reencrypt', `caught the job mid-way: ${JSON.stringify(seen)} ${stderr}`);
      child.kill('SIGKILL');
      assert.equal(await exited, null, 'killed, not finished');
      const stopped = (await t.app.rotation.recent()).find((j) => j.id === seen?.id);
      assert.equal(stopped?.finishedAt, undefined);
      assert.ok((stopped?.rowsDone ?? 0) < (stopped?.rowsTotal ?? 0), 'it stopped in the middle');

      // The data is all readable in the meantime: half old generation, half new.
      const tenant = { tenantId: 'clinic', db: await t.app.storage.tenant('clinic') };
      for (const [ref] of [...written].slice(0, 40)) {
        const [type, id] = ref.split('/') as [string, string];
        await t.app.records.read(tenant, type, id);
      }

      if (engine === 'sqlite') {
        // Running the command again resumes the same job (the dead process's lease is taken at once).
        const again = spawnSync(process.execPath, ['--import', 'tsx', main, 'keys', 'rotate', '--tenant', 'clinic'], { env, encoding: 'utf8' });
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /resuming the unfinished rotation to version 2/);
        assert.match(again.stdout, /tenant clinic: generation 2; [\d,]+ fields re-encrypted/);
        assert.match(again.stderr, /\[#{24}\] 100%/);
      } else {
        // A running server takes up a job whose runner died.
        assert.equal(await t.app.rotation.resumeAbandoned(), 1);
      }

      const [job] = (await t.app.rotation.recent()).filter((j) => j.tenantId === 'clinic');
      assert.equal(job?.id, seen?.id, 'the same job, not a second rotation');
      assert.equal(job?.generation, 2);
      assert.equal(job?.phase, 'done');
      assert.equal(job?.rowsDone, job?.rowsTotal);
      t.app.keys.forget();
      for (const [ref, marker] of written) {
        const [type, id] = ref.split('/') as [string, string];
        const content = JSON.parse((await t.app.records.read(tenant, type, id)).content);
        assert.equal(type === 'Patient' ? content.name[0].family : content.valueString, marker, ref);
      }
      const db = tenant.db;
      const stale = await db.query<{ n: number | string }>(
        `SELECT (SELECT COUNT(*) FROM ${db.table('resources')} WHERE key_version < 2) + (SELECT COUNT(*) FROM ${db.table('resource_versions')} WHERE key_version < 2) AS n`,
      );
      assert.equal(Number(stale[0]?.n), 0);
      const keysDb = t.app.storage.keys;
      const old = await keysDb.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${keysDb.table('data_keys')} WHERE tenant_id = 'clinic' AND version < 2`);
      assert.equal(Number(old[0]?.n), 0, 'every old data key version retired');
    });
  });
}
