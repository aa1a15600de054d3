import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildApp, type Tresor } from '../../../src/app.js';
import { findPostgresBin, generateBackupKey } from '../../../src/backup/index.js';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { tresorHere } from '../../support/cli.js';
import { dropPgSchemas, engines, errorCode, json, observation, patient, type EngineName } from '../../support/harness.js';

const pgUrl = process.env['TRESOR_TEST_PG_URL'];
const quiet = () => new Writable({ write: (_c, _e, done) => done() });

/**
 * A restore Tresor does not make itself — pgBackRest's point-in-time recovery of the cluster, a
 * disk or VM snapshot put back — rolls the key store back to before a crypto-shred. The server
 * must destroy those keys again before it serves anything. PostgreSQL: the deployment's schemas
 * dumped before the shred and put back after it (what a PITR does to them); SQLite: the data
 * directory copied and put back.
 */
for (const engine of engines()) {
  describe(`erasure survives a restore Tresor did not make (${engine})`, () => {
    const dirs: string[] = [];
    const schemaPrefix = `t${randomBytes(5).toString('hex')}`;
    after(async () => {
      if (engine === 'postgres') await dropPgSchemas(schemaPrefix);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
    const tempDir = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), name));
      dirs.push(dir);
      return dir;
    };

    it('a shredded patient stays erased after the database is rolled back to before the shred: 410, not in search, every key version destroyed again, the tenant told', async () => {
      const dataDir = tempDir('tresor-pitr-');
      const repository = tempDir('tresor-pitr-repo-');
      const backupKey = generateBackupKey();
      const config = loadConfig({
        env: {},
        overrides: {
          dataDir,
          log: { level: 'warn' },
          server: { tls: { enabled: false } },
          storage: engine === 'postgres' ? { engine: 'postgres', postgres: { url: pgUrl, schemaPrefix, poolSize: 3 } } : { engine: 'sqlite' },
          backup: { repository, key: backupKey, schedule: false },
        },
      });
      let app = await buildApp(config, { logDestination: quiet() });
      let closed = false;
      try {
        await app.tenants.create('clinic');
        const key = (await app.apiKeys.create({ tenantId: 'clinic', role: 'service' })).key;
        const call = (target: Tresor, method: string, url: string, body?: unknown) =>
          target.http.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
        const erased = json(await call(app, 'POST', '/tenants/clinic/fhir/Patient', patient({ name: [{ family: 'Vergessen', given: ['Vera'] }] })))['id'] as string;
        const kept = json(await call(app, 'POST', '/tenants/clinic/fhir/Patient', patient({ name: [{ family: 'Bleibt', given: ['Bert'] }] })))['id'] as string;
        const obs = json(await call(app, 'POST', '/tenants/clinic/fhir/Observation', observation(erased)))['id'] as string;
        await app.backups.run();
        await app.close();
        closed = true;

        // The physical backup: the database as it is now, before the shred.
        const image = tempDir('tresor-pitr-image-');
        await takeImage(engine, config, image);

        const env = { TRESOR_DATA_DIR: dataDir, TRESOR_BACKUP_REPOSITORY: repository, TRESOR_BACKUP_KEY: backupKey, ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: pgUrl!, TRESOR_POSTGRES_SCHEMA_PREFIX: schemaPrefix } : {}) };
        const shred = await tresorHere(['keys', 'shred', '--tenant', 'clinic', '--subject', `Patient/${erased}`], env);
        assert.equal(shred.code, 0, shred.stderr);

        // The point-in-time restore to before the shred: the patient's key is usable again in the database.
        await putImageBack(engine, config, image);
        assert.ok((await wrappedKeys(engine, config, erased)) > 0, 'the rollback brought the destroyed key back (else this test proves nothing)');

        app = await buildApp(config, { logDestination: quiet() });
        closed = false;
        assert.equal(await wrappedKeys(engine, config, erased), 0, 'every key version of the erased patient destroyed again before serving');
        const read = await call(app, 'GET', `/tenants/clinic/fhir/Patient/${erased}`);
        assert.equal(read.statusCode, 410, read.body);
        assert.equal(errorCode(read), 'erased');
        assert.equal((await call(app, 'GET', `/tenants/clinic/fhir/Observation/${obs}`)).statusCode, 410);
        const found = async (family: string) => ((json(await call(app, 'GET', `/tenants/clinic/fhir/Patient?name=${family}`))['entry'] ?? []) as unknown[]).length;
        assert.equal(await found('Vergessen'), 0, 'erased records leave the search index again');
        assert.equal(await found('Bleibt'), 1);
        assert.equal((await call(app, 'GET', `/tenants/clinic/fhir/Patient/${kept}`)).statusCode, 200, 'other patients untouched');
        const trail = await app.audit.query('clinic', { count: 20, actions: ['key.shredded'] });
        assert.ok(
          trail.some((e) => e.subjects.includes(`Patient/${erased}`) && /applied again after a restore/.test(e.detail ?? '')),
          'the tenant’s audit trail says the erasure was applied again',
        );
        // The erasure record went with the rollback; the erasure, applied again, is recorded again.
        assert.deepEqual((await app.erasures.list('clinic')).map((r) => [r.subject, r.source]), [[`Patient/${erased}`, 'restore']]);
      } finally {
        if (!closed) await app.close();
      }
    });
  });
}

/** The database as a physical backup holds it: SQLite's files, PostgreSQL's schemas of this deployment. */
async function takeImage(engine: EngineName, config: Config, image: string): Promise<void> {
  if (engine === 'sqlite') {
    cpSync(config.dataDir, join(image, 'data'), { recursive: true });
    return;
  }
  execFileSync(join(findPostgresBin(), 'pg_dump'), ['--dbname', pgUrl!, '--schema', `${config.storage.postgres.schemaPrefix}_*`, '--format', 'custom', '--file', join(image, 'dump')], { stdio: 'pipe' });
}

async function putImageBack(engine: EngineName, config: Config, image: string): Promise<void> {
  if (engine === 'sqlite') {
    rmSync(config.dataDir, { recursive: true, force: true });
    cpSync(join(image, 'data'), config.dataDir, { recursive: true });
    return;
  }
  await dropPgSchemas(config.storage.postgres.schemaPrefix);
  execFileSync(join(findPostgresBin(), 'pg_restore'), ['--dbname', pgUrl!, '--exit-on-error', join(image, 'dump')], { stdio: 'pipe' });
}

/** Key versions of `Patient/<id>` in the key store that still hold a wrapped key. */
async function wrappedKeys(engine: EngineName, config: Config, id: string): Promise<number> {
  const sql = (table: string) => `SELECT COUNT(*) AS n FROM ${table} WHERE subject = $1 AND wrapped IS NOT NULL`;
  if (engine === 'sqlite') {
    const db = new Database(join(config.dataDir, 'keys.db'), { readonly: true });
    try {
      return Number((db.prepare(sql('data_keys').replace('$1', '?')).get(`Patient/${id}`) as { n: number }).n);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql(`"${config.storage.postgres.schemaPrefix}_keys".data_keys`), [`Patient/${id}`])).rows[0]!.n);
  } finally {
    await client.end();
  }
}
