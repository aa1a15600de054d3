import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { storageMigrations } from '../../../src/app.js';
import { openStorage, sqliteDefaults, type StorageConfig } from '../../../src/platform/db/index.js';
import { systemClock } from '../../../src/platform/clock.js';
import { createTenants } from '../../../src/tenants/index.js';
import { tresorHere } from '../../support/cli.js';
import { dropPgSchemas, engines } from '../../support/harness.js';

// An upgrade as an operator lives it: tenants made by the previous version (every migration but
// the newest), then `tresor migrate` of this version brings each one up to date.
const previous = { ...storageMigrations, tenant: storageMigrations.tenant.slice(0, -1) };
const newest = storageMigrations.tenant.at(-1)?.id as string;
const tenantIds = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];

for (const engine of engines()) {
  describe(`tresor migrate (${engine})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-migrate-'));
    const prefix = `mig${process.pid}`;
    const env: Record<string, string> =
      engine === 'postgres' ? { TRESOR_DATA_DIR: dataDir, TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: prefix } : { TRESOR_DATA_DIR: dataDir };
    const storageConfig: StorageConfig =
      engine === 'postgres'
        ? { engine: 'postgres', postgres: { url: process.env['TRESOR_TEST_PG_URL'] as string, poolSize: 2, statementTimeoutMs: 30_000, schemaPrefix: prefix } }
        : { engine: 'sqlite', dataDir, sqlite: sqliteDefaults };
    after(async () => {
      if (engine === 'postgres') await dropPgSchemas(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Each tenant's applied migration ids, read from the data sets themselves (opening them through storage would migrate them). */
    async function appliedIds(): Promise<Map<string, string[]>> {
      const found = new Map<string, string[]>();
      if (engine === 'sqlite') {
        const { default: Database } = await import('better-sqlite3');
        for (const id of tenantIds) {
          const db = new Database(join(dataDir, 'tenants', `${id}.db`), { readonly: true });
          found.set(id, (db.prepare('SELECT id FROM schema_migrations ORDER BY id').all() as Array<{ id: string }>).map((row) => row.id));
          db.close();
        }
        return found;
      }
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: process.env['TRESOR_TEST_PG_URL'] });
      await client.connect();
      try {
        for (const id of tenantIds) found.set(id, (await client.query<{ id: string }>(`SELECT id FROM "${prefix}_t_${id}".schema_migrations ORDER BY id COLLATE "C"`)).rows.map((row) => row.id));
      } finally {
        await client.end();
      }
      return found;
    }

    it('applies the pending migration to every tenant with progress, lists a tenant it could not migrate, and a rerun continues', async () => {
      // The previous version: the platform at this version's level (`tresor migrate` opens it), the tenants one migration behind.
      const old = await openStorage(storageConfig, previous);
      const tenants = createTenants({ storage: old, clock: systemClock });
      for (const id of tenantIds) await tenants.create(id);
      for (const id of tenantIds) {
        const db = await old.tenant(id);
        assert.equal((await db.query(`SELECT 1 FROM ${db.table('schema_migrations')} WHERE id = ?`, [newest])).length, 0, 'the newest migration is pending');
      }
      await old.close();

      // One tenant's data set is gone (a disk mishap): it is listed, the others are migrated, exit 1.
      const lost = 'charlie';
      if (engine === 'sqlite') {
        const file = join(dataDir, 'tenants', `${lost}.db`);
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      } else {
        const pg = await import('pg');
        const client = new pg.default.Client({ connectionString: process.env['TRESOR_TEST_PG_URL'] });
        await client.connect();
        await client.query(`ALTER SCHEMA "${prefix}_t_${lost}" RENAME TO "${prefix}_lost"`);
        await client.end();
      }
      const first = await tresorHere(['migrate'], env);
      assert.equal(first.code, 1, first.stderr);
      assert.match(first.stderr, /migrate: 5\/5 tenants \(100 %\); 4 migrated, 1 failed/, 'the final progress line on stderr');
      assert.match(first.stderr, new RegExp(`tenant ${lost}: not migrated: .*no data set for tenant ${lost}`));
      assert.match(first.stdout, /Tenants: 5; 4 migrated \(4 migrations\), 0 already up to date, 1 failed/);

      // Put back, the rerun migrates only what is still pending.
      if (engine === 'sqlite') {
        const reopened = await openStorage(storageConfig, previous);
        await reopened.tenant(lost, { create: true });
        await reopened.close();
      } else {
        const pg = await import('pg');
        const client = new pg.default.Client({ connectionString: process.env['TRESOR_TEST_PG_URL'] });
        await client.connect();
        await client.query(`ALTER SCHEMA "${prefix}_lost" RENAME TO "${prefix}_t_${lost}"`);
        await client.end();
      }
      const second = await tresorHere(['migrate', '--json'], env);
      assert.equal(second.code, 0, second.stderr);
      const summary = JSON.parse(second.stdout) as { tenants: number; migrated: number; applied: number; upToDate: number; failed: unknown[] };
      assert.deepEqual({ tenants: summary.tenants, migrated: summary.migrated, applied: summary.applied, upToDate: summary.upToDate, failed: summary.failed }, { tenants: 5, migrated: 1, applied: 1, upToDate: 4, failed: [] });
      const applied = await appliedIds();
      const expected = storageMigrations.tenant.map((m) => m.id).sort();
      for (const id of tenantIds) assert.deepEqual(applied.get(id), expected, `tenant ${id} up to date`);

      const third = await tresorHere(['migrate'], env);
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stdout, /Tenants: 5; 0 migrated \(0 migrations\), 5 already up to date, 0 failed/, 'a rerun is a no-op');
      assert.deepEqual(await appliedIds(), applied);
    });

    it('names one tenant, or refuses one that does not exist', async () => {
      const one = await tresorHere(['migrate', '--tenant', 'bravo'], env);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /Tenants: 1; 0 migrated/);
      assert.equal((await tresorHere(['migrate', '--tenant', 'nobody'], env)).code, 2);
      assert.equal((await tresorHere(['migrate', 'everything'], env)).code, 2, 'no positional argument');
    });

    if (engine === 'sqlite') {
      it('refuses while a server runs on the data directory', async () => {
        const server = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
        const pidFile = join(dataDir, 'server.pid');
        try {
          writeFileSync(pidFile, String(server.pid));
          const refused = await tresorHere(['migrate'], env);
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, new RegExp(`a server \\(pid ${server.pid}\\) runs on`));
        } finally {
          server.kill();
          unlinkSync(pidFile);
        }
      });
    }
  });
}
