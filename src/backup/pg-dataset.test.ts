import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { dropPgSchemas, testPostgres } from '../../test/support/harness.js';
import { auditMigrations } from '../audit/index.js';
import { accountAdminMigrations, accountMigrations, identityMigrations, sessionMigrations } from '../identity/index.js';
import { keysMigrations } from '../keys/index.js';
import { oauthMigrations } from '../oauth/index.js';
import { createPostgresPool } from '../platform/db/postgres.js';
import { openStorage, type Migration, type Storage, type StorageMigrations } from '../platform/db/index.js';
import { recordsMigrations } from '../records/index.js';
import { rotationMigrations } from '../rotation/index.js';
import { tenantsMigrations } from '../tenants/index.js';
import { backupKeysFrom, generateBackupKey, loadBackupKey } from './backup-keys.js';
import { BackupError } from './errors.js';
import { openRepository } from './open-repository.js';
import { exportPgSchema, importPgSchema, swapPgSchema } from './pg-dataset.js';
import type { Repository } from './repository.js';
import { damagePackOf, locateChunk } from '../../test/support/packs.js';
import { chunkReader, loadChunkIndex } from './packs.js';
import { pgDataSetsOf, readManifest, restoreFiles, restorePgDataSet, takeSnapshot, verifySnapshot, type DataSetRef, type Manifest } from './snapshots.js';

/**
 * PostgreSQL data sets in snapshots: a schema exported at one point in time as content-defined
 * chunks of rows, imported into a new schema in one transaction (upgraded when older), swapped
 * in for the live one atomically. Runs against the PostgreSQL `npm test` provides.
 */
const { url, skip, requirePg } = testPostgres();

/** The migrations app.ts gives the storage (assembled the same way). */
const tresorMigrations: StorageMigrations = {
  platform: [...tenantsMigrations, ...identityMigrations],
  keys: [...keysMigrations, ...rotationMigrations],
  tenant: [...recordsMigrations, ...auditMigrations, ...accountMigrations, ...sessionMigrations, ...accountAdminMigrations, ...oauthMigrations],
};

const pgOnly = (statements: (t: (name: string) => string) => string[]): Migration['up'] => ({ sqlite: () => [], postgres: statements });

/** Every column type Tresor's migrations use, and the ones a later migration might. */
const everyType: Migration = {
  id: 'test/001-every-type',
  up: pgOnly((t) => [
    `CREATE TABLE ${t('every_type')} (id BIGINT PRIMARY KEY, i INTEGER, s SMALLINT, big BIGINT, txt TEXT, c TEXT COLLATE "C", raw BYTEA, flag BOOLEAN, doc JSON, docb JSONB, num NUMERIC, f DOUBLE PRECISION, at TIMESTAMPTZ)`,
    `CREATE TABLE ${t('no_key')} (a TEXT, b INTEGER)`,
    `CREATE TABLE ${t('composite')} (a TEXT NOT NULL, b INTEGER NOT NULL, v TEXT, PRIMARY KEY (a, b))`,
    `CREATE TABLE ${t('queue')} (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)`,
    `CREATE TABLE ${t('ident')} (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v TEXT)`,
    `CREATE TABLE ${t('gen')} (id INTEGER PRIMARY KEY, x INTEGER, doubled INTEGER GENERATED ALWAYS AS (x * 2) STORED)`,
    `CREATE TABLE ${t('empty')} (id TEXT PRIMARY KEY)`,
  ]),
};

const itemsTable: Migration = { id: 'test/001-items', up: pgOnly((t) => [`CREATE TABLE ${t('items')} (id BIGINT PRIMARY KEY, body TEXT NOT NULL)`]) };

describe('PostgreSQL data sets: export, import, swap (pg-rows/1)', { skip }, () => {
  let pool: pg.Pool;
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const dirs: string[] = [];
  const keys = loadBackupKey({ env: generateBackupKey() });
  let schemaSeq = 0;
  /** A fresh schema name of this test run (all dropped at the end). */
  const schemaName = (what: string) => `${prefix}_${what}_${++schemaSeq}`;

  before(() => {
    pool = createPostgresPool({ url: requirePg('PostgreSQL snapshots'), poolSize: 8, statementTimeoutMs: 60_000 });
  });

  after(async () => {
    await pool?.end();
    if (url) await dropPgSchemas(prefix);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function repository(): Promise<Repository & { dir: string }> {
    const dir = tempDir('repo');
    return Object.assign(await openRepository(dir), { dir });
  }

  const tempDir = (what: string) => {
    const dir = mkdtempSync(join(tmpdir(), `tresor-pg-${what}-`));
    dirs.push(dir);
    return dir;
  };
  const deps = (repo: Repository, chunkBytes = 16 * 1024) => ({ repository: repo, keys, tresorVersion: 'test', chunkBytes, scratchParent: tempDir('scratch') });

  /** A schema migrated by `migrations`, as the storage makes one. */
  async function migratedSchema(migrations: readonly Migration[], what = 'live'): Promise<string> {
    const schema = schemaName(what);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    const { openPostgresDatabase } = await import('../platform/db/postgres.js');
    const { migrate } = await import('../platform/db/migrate.js');
    await migrate(openPostgresDatabase(pool, schema), migrations, schema, () => 1_700_000_000_000);
    return schema;
  }

  const schemaExists = async (schema: string) => ((await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ?? 0) > 0;
  const schemasLike = async (pattern: string) => (await pool.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1', [pattern])).rows.map((r) => r.nspname);
  /** A table's rows as PostgreSQL's text of each whole row, sorted: equal means equal, column by column. */
  const rowsOf = async (schema: string, table: string) => (await pool.query<{ r: string }>(`SELECT whole_row::text AS r FROM "${schema}"."${table}" whole_row ORDER BY 1`)).rows.map((row) => row.r);

  const ref = (schema: string, id = 'clinic'): DataSetRef => ({ engine: 'postgres', kind: 'tenant', id, pool, schema });

  async function fillItems(schema: string, ids: readonly number[], bytes: number): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      await pool.query(`INSERT INTO "${schema}".items (id, body) SELECT unnest($1::int8[]), unnest($2::text[])`, [batch, batch.map(() => randomBytes(bytes / 2).toString('hex'))]);
    }
  }

  it('round trip: every column type, NULLs, binary, unicode, keyless and composite keys, sequences; the restored schema exports to the same bytes', async () => {
    const live = await migratedSchema([everyType]);
    const marker = `MARKER-${randomBytes(6).toString('hex')}`;
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const insert = `INSERT INTO "${live}".every_type (id, i, s, big, txt, c, raw, flag, doc, docb, num, f, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
    await pool.query(insert, [1, 2147483647, -32768, '9223372036854775807', `${marker} Grüße, 日本語, עברית, 👩‍⚕️ e\u0301, "quoted" \\ back\\slash\nnew line\ttab`, 'C-collated', allBytes, true, '{"b": 1, "a": [1, 2, "ü"], "a": "dup key kept in json"}', '{"z": null, "k": "\u2028", "n": 1.50}', '123456789012345678901234567890.000000000000000000001', 0.1, '2026-12-01T14:15:16.123456+02:00']);
    await pool.query(insert, [2, null, null, null, null, null, null, null, null, null, null, null, null]);
    await pool.query(insert, ['-9223372036854775808', -1, 0, '-1', '', '', Buffer.alloc(0), false, 'null', '[]', 'NaN', 'Infinity', '-infinity']);
    await pool.query(insert, [3, 0, 1, 0, 'x'.repeat(100_000), 'ä', randomBytes(70_000), true, '"s"', '{"deep": {"deeper": [true, false, null]}}', '-0.5', -1.7976931348623157e308, '1970-01-01T00:00:00Z']);
    await pool.query(`INSERT INTO "${live}".no_key (a, b) VALUES ('dup', 1), ('dup', 1), ('dup', 1), (NULL, NULL), ('z', -5), ('ä', 2)`);
    await pool.query(`INSERT INTO "${live}".composite (a, b, v) VALUES ('a', 2, 'x'), ('a', 1, NULL), ('b', -1, 'ü'), ('A', 1, 'upper')`);
    await pool.query(`INSERT INTO "${live}".queue (v) SELECT 'q' || g FROM generate_series(1, 25) g`);
    await pool.query(`DELETE FROM "${live}".queue WHERE id > 20`); // the sequence is ahead of the rows
    await pool.query(`INSERT INTO "${live}".ident (v) VALUES ('one'), ('two'), ('three')`);
    await pool.query(`INSERT INTO "${live}".gen (id, x) VALUES (1, 21), (2, NULL)`);

    const repo = await repository();
    const manifest = await takeSnapshot(deps(repo), [ref(live)], Date.UTC(2026, 11, 1, 12));
    const [dataSet] = manifest.dataSets;
    assert.equal(manifest.engine, 'postgres');
    assert.equal(dataSet?.format, 'pg-rows/1');
    assert.deepEqual(dataSet?.migrations, ['test/001-every-type']);
    assert.deepEqual(dataSet?.counts, { composite: 4, empty: 0, every_type: 4, gen: 2, ident: 3, no_key: 6, queue: 20, schema_migrations: 1 });
    for (const name of await repo.list('')) {
      const data = readFileSync(join(repo.dir, name));
      assert.ok(!data.includes(marker) && !data.includes(Buffer.from(marker).toString('hex')), `${name} holds plaintext`);
      assert.ok(!name.includes('clinic') && !name.includes(prefix), 'object names say nothing of tenants or schemas');
    }

    const restored = schemaName('restored');
    const result = await restorePgDataSet({ repository: repo, keys, migrations: { platform: [], keys: [], tenant: [everyType] } }, await readManifest(repo, keys, manifest.id), dataSet!, pool, restored);
    assert.deepEqual(result.counts, dataSet?.counts);
    assert.deepEqual(result.upgraded, []);
    for (const table of Object.keys(dataSet!.counts)) assert.deepEqual(await rowsOf(restored, table), await rowsOf(live, table), `table ${table}`);
    // Sequences and identity columns go on after the restored rows, as they would have live.
    const next = async (schema: string) => [
      (await pool.query(`INSERT INTO "${schema}".queue (v) VALUES ('n') RETURNING id`)).rows[0]?.id,
      (await pool.query(`INSERT INTO "${schema}".ident (v) VALUES ('n') RETURNING id`)).rows[0]?.id,
    ];
    const restoredNext = await next(restored);
    assert.deepEqual(restoredNext, await next(live));
    assert.deepEqual(restoredNext, [26, 4]);
    await pool.query(`DELETE FROM "${live}".queue WHERE v = 'n'`);
    await pool.query(`DELETE FROM "${restored}".queue WHERE v = 'n'`);
    await pool.query(`DELETE FROM "${live}".ident WHERE v = 'n'`);
    await pool.query(`DELETE FROM "${restored}".ident WHERE v = 'n'`);
    assert.deepEqual(await rowsOf(restored, 'gen'), ['(1,21,42)', '(2,,)'], 'generated columns are computed again');

    // Deterministic: the same rows give the same bytes (the chunks of a restored schema are the same).
    const sha = async (schema: string) => (await exportPgSchema(pool, schema, async () => {}, { chunkBytes: 16 * 1024, boundaryKey: randomBytes(32) })).sha256;
    assert.equal(await sha(restored), await sha(live));
    assert.notEqual(await sha(restored), dataSet?.sha256, 'the sequences moved on meanwhile');
  });

  it('reads every table at one point in time while writers go on', async () => {
    const pair: Migration = {
      id: 'test/001-pair',
      up: pgOnly((t) => [`CREATE TABLE ${t('debits')} (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`, `CREATE TABLE ${t('credits')} (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`]),
    };
    const live = await migratedSchema([pair]);
    for (const table of ['debits', 'credits']) await pool.query(`INSERT INTO "${live}".${table} (id, n) SELECT g, 0 FROM generate_series(1, 3000) g`);
    let stop = false;
    let writes = 0;
    let during = 0;
    let exporting = false;
    // Each transaction moves both tables together: a row added to each, one counter raised in each.
    const writer = async () => {
      let next = 1_000_000 + randomInt(1_000_000) * 1000;
      while (!stop) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const id = randomInt(1, 3001);
          await client.query(`UPDATE "${live}".debits SET n = n + 1 WHERE id = $1`, [id]);
          await client.query(`INSERT INTO "${live}".debits (id, n) VALUES ($1, 1)`, [++next]);
          await client.query(`UPDATE "${live}".credits SET n = n + 1 WHERE id = $1`, [id]);
          await client.query(`INSERT INTO "${live}".credits (id, n) VALUES ($1, 1)`, [next]);
          await client.query('COMMIT');
          writes += 1;
          if (exporting) during += 1;
        } finally {
          client.release();
        }
      }
    };
    const writers = [writer(), writer()];
    while (writes < 5) await new Promise((r) => setTimeout(r, 5));
    const chunks: Buffer[] = [];
    exporting = true;
    // Small pages: the export takes many statements, so writes commit between them.
    const exported = await exportPgSchema(pool, live, async (plain) => void chunks.push(plain), { chunkBytes: 4096, boundaryKey: randomBytes(32), pageRows: 25 });
    exporting = false;
    stop = true;
    await Promise.all(writers);
    assert.ok(during > 0, `writers committed while the export ran (${during})`);
    assert.equal(exported.counts['debits'], exported.counts['credits']);
    assert.ok((exported.counts['debits'] as number) > 3000);
    const restored = schemaName('restored');
    await importPgSchema(pool, restored, (async function* () { yield* chunks; })(), [pair], { expectedCounts: exported.counts });
    const sum = async (table: string) => (await pool.query<{ s: string }>(`SELECT sum(n)::text AS s FROM "${restored}".${table}`)).rows[0]?.s;
    assert.equal(await sum('debits'), await sum('credits'), 'both tables as of the same instant');
  });

  it('deduplicates: after updating 1 % of 5,000 rows, or inserting rows amid the key range, a snapshot adds only the chunks around them', async () => {
    const live = await migratedSchema([itemsTable]);
    const ids = Array.from({ length: 5000 }, (_, i) => (i + 1) * 100);
    await fillItems(live, ids, 1000);
    const repo = await repository();
    const chunkBytes = 4096;
    const first = await takeSnapshot(deps(repo, chunkBytes), [ref(live)], Date.UTC(2026, 11, 1, 12));
    const total = first.dataSets[0]?.chunks.length as number;
    assert.ok(total > 800, `a data set of many chunks (${total})`);
    // Plaintext bytes per chunk (stored objects are smaller: packs are compressed before sealing).
    const average = (first.dataSets[0]?.bytes as number) / total;
    assert.ok(average > chunkBytes * 0.6 && average < chunkBytes * 2, `chunks average about the configured size (${Math.round(average)} bytes)`);

    // 1 %: 50 rows spread over the whole table.
    const changed = Array.from({ length: 50 }, (_, i) => ids[i * 100 + 37] as number);
    await pool.query(`UPDATE "${live}".items SET body = md5(body) WHERE id = ANY($1::int8[])`, [changed]);
    const second = await takeSnapshot(deps(repo, chunkBytes), [ref(live)], Date.UTC(2026, 11, 1, 12, 15));
    assert.ok(second.added.chunks <= 2 * changed.length + 2, `updating ${changed.length} rows added ${second.added.chunks} of ${total} chunks`);
    assert.ok(second.added.chunks / total < 0.12, `a small fraction (${second.added.chunks} of ${total})`);

    // 40 rows inserted between existing keys in the middle, and 10 spread out: later boundaries stay.
    const inserted = [...Array.from({ length: 40 }, (_, i) => 250_001 + i), ...Array.from({ length: 10 }, (_, i) => 5 + i * 40_000)];
    await fillItems(live, inserted, 1000);
    const third = await takeSnapshot(deps(repo, chunkBytes), [ref(live)], Date.UTC(2026, 11, 1, 12, 30));
    const before = new Set(second.dataSets[0]?.chunks);
    const kept = (third.dataSets[0]?.chunks ?? []).filter((c) => before.has(c)).length;
    assert.ok(third.added.chunks <= 40, `inserting ${inserted.length} rows (≈ ${(inserted.length * 1000) / chunkBytes} chunks of new data) added ${third.added.chunks} chunks`);
    assert.ok(kept >= total * 0.95, `the chunks around the insertions changed, the others were kept (${kept} of ${total})`);
    assert.equal(third.dataSets[0]?.counts['items'], 5050);
  });

  it('a damaged, swapped or missing chunk fails the restore (and verify) and leaves no schema behind', async () => {
    const live = await migratedSchema([itemsTable]);
    await fillItems(live, Array.from({ length: 400 }, (_, i) => i + 1), 400);
    const repo = await repository();
    const manifest = await takeSnapshot(deps(repo), [ref(live)], Date.now());
    const dataSet = manifest.dataSets[0]!;
    const restoreDeps = { repository: repo, keys, migrations: { platform: [], keys: [], tenant: [itemsTable] } };
    const verifyDeps = { repository: repo, keys, postgres: { pool, schemaPrefix: prefix, migrations: restoreDeps.migrations } };
    assert.equal((await verifySnapshot(verifyDeps, manifest.id)).dataSets, 1);
    assert.deepEqual(await schemasLike(`${prefix}\\_verify\\_%`), [], 'verify drops its scratch schema');

    const middle = dataSet.chunks[Math.floor(dataSet.chunks.length / 2)] as string;
    const other = dataSet.chunks[1] as string;
    // The chunk named in the error: the damaged one; for a missing pack, the first of its chunks the restore needs.
    const attempt = async (code: string, what: string, named: RegExp = new RegExp(middle)) => {
      const target = schemaName('restore');
      await assert.rejects(restorePgDataSet(restoreDeps, manifest, dataSet, pool, target), (e) => e instanceof BackupError && e.code === code && named.test(e.message), what);
      assert.equal(await schemaExists(target), false, `${what}: no schema left`);
      await assert.rejects(verifySnapshot(verifyDeps, manifest.id), (e) => e instanceof BackupError && e.code === code, `${what}: verify`);
      assert.deepEqual(await schemasLike(`${prefix}\\_verify\\_%`), [], `${what}: verify left no schema`);
    };
    const repair = await damagePackOf(repo, keys, middle);
    await attempt('object-corrupt', 'a damaged chunk', /chunk [0-9a-f]{32} of .* failed its integrity check/);
    await repair();
    const { pack: otherPack } = await locateChunk(repo, keys, other);
    await assert.rejects(keys.openPack(`packs/00/${'0'.repeat(32)}.pack`, await repo.get(otherPack)), (e) => e instanceof BackupError && e.code === 'object-corrupt', 'a pack stored under another name');
    const at = await locateChunk(repo, keys, middle);
    const pack = await repo.get(at.pack);
    await repo.delete(at.pack);
    await attempt('object-missing', 'a missing chunk', /chunk [0-9a-f]{32} of .* is missing/);
    await repo.put(at.pack, pack);

    // A stream whose chunks all check out but is cut short (a forged manifest cannot do this; a bug could).
    const target = schemaName('restore');
    const reader = chunkReader(repo, keys, await loadChunkIndex(repo, keys));
    const chunks = await Promise.all(dataSet.chunks.slice(0, -1).map((n) => reader.read(n)));
    await assert.rejects(importPgSchema(pool, target, (async function* () { yield* chunks; })(), [itemsTable]), (e) => e instanceof BackupError && e.code === 'object-corrupt');
    assert.equal(await schemaExists(target), false);
    // Into an existing schema: refused, and that schema is untouched.
    await assert.rejects(restorePgDataSet(restoreDeps, manifest, dataSet, pool, live), (e) => e instanceof BackupError && e.code === 'restore-refused');
    assert.equal((await pool.query(`SELECT count(*)::int AS n FROM "${live}".items`)).rows[0]?.n, 400);
    // Another backup key opens none of it.
    await assert.rejects(readManifest(repo, backupKeysFrom(randomBytes(32)), manifest.id), (e) => e instanceof BackupError && e.code === 'manifest-invalid');
    // And a PostgreSQL data set is never restored as a file.
    await assert.rejects(restoreFiles({ repository: repo, keys }, manifest, tempDir('files')), (e) => e instanceof BackupError && e.code === 'restore-refused');
    await assert.rejects(verifySnapshot({ repository: repo, keys }, manifest.id), (e) => e instanceof BackupError && e.code === 'restore-refused', 'verify without PostgreSQL says so');
    assert.equal((await verifySnapshot(verifyDeps, manifest.id)).dataSets, 1, 'the repaired repository verifies again');
  });

  it('swaps a restored schema in atomically: concurrent readers see the old rows or the new, never an error or neither', async () => {
    const live = await migratedSchema([itemsTable]);
    await pool.query(`INSERT INTO "${live}".items (id, body) SELECT g, 'old' FROM generate_series(1, 1000) g`);
    const restored = await migratedSchema([itemsTable], 'restored');
    await pool.query(`INSERT INTO "${restored}".items (id, body) SELECT g, 'new' FROM generate_series(1, 1500) g`);
    let stop = false;
    const seen = new Map<string, number>();
    const errors: unknown[] = [];
    const reader = async () => {
      while (!stop) {
        try {
          const { rows } = await pool.query<{ n: number; lo: string; hi: string }>(`SELECT count(*)::int AS n, min(body) AS lo, max(body) AS hi FROM "${live}".items`);
          const key = JSON.stringify(rows[0]);
          seen.set(key, (seen.get(key) ?? 0) + 1);
        } catch (error) {
          errors.push(error);
        }
      }
    };
    const readers = [reader(), reader(), reader(), reader()];
    while ([...seen.values()].reduce((a, b) => a + b, 0) < 20) await new Promise((r) => setTimeout(r, 5));
    const { dropped } = await swapPgSchema(pool, live, restored);
    const afterSwap = [...seen.values()].reduce((a, b) => a + b, 0);
    while ([...seen.values()].reduce((a, b) => a + b, 0) < afterSwap + 20) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(readers);
    assert.deepEqual(errors, []);
    assert.deepEqual([...seen.keys()].sort(), [JSON.stringify({ n: 1000, lo: 'old', hi: 'old' }), JSON.stringify({ n: 1500, lo: 'new', hi: 'new' })]);
    assert.equal(await schemaExists(restored), false);
    assert.equal(await schemaExists(dropped as string), false, 'the old data set is gone');
    assert.equal((await pool.query(`SELECT count(*)::int AS n FROM "${live}".items`)).rows[0]?.n, 1500);
  });

  it('a snapshot of an older version is upgraded on import; one of a newer version is refused', async () => {
    const m2: Migration = {
      id: 'test/002-extra',
      up: pgOnly((t) => [`ALTER TABLE ${t('items')} ADD COLUMN extra TEXT NOT NULL DEFAULT 'added'`, `CREATE TABLE ${t('settings')} (k TEXT PRIMARY KEY, v TEXT)`, `INSERT INTO ${t('settings')} (k, v) VALUES ('seeded', 'yes')`]),
    };
    const between: Migration = { id: 'test/001b-between', up: pgOnly((t) => [`CREATE INDEX items_body ON ${t('items')} (body)`]) };
    const old = await migratedSchema([itemsTable]);
    await pool.query(`INSERT INTO "${old}".items (id, body) VALUES (1, 'a'), (2, 'b')`);
    const chunks: Buffer[] = [];
    const exported = await exportPgSchema(pool, old, async (plain) => void chunks.push(plain), { chunkBytes: 4096, boundaryKey: randomBytes(32) });
    assert.deepEqual(exported.migrations, ['test/001-items']);
    const stream = () => (async function* () { yield* chunks; })();

    const upgraded = schemaName('upgraded');
    const result = await importPgSchema(pool, upgraded, stream(), [itemsTable, m2], { now: () => 1_800_000_000_000 });
    assert.deepEqual(result.upgraded, ['test/002-extra']);
    assert.deepEqual(result.counts, { items: 2, schema_migrations: 1 });
    assert.deepEqual(await rowsOf(upgraded, 'items'), ['(1,a,added)', '(2,b,added)']);
    assert.deepEqual(await rowsOf(upgraded, 'settings'), ['(seeded,yes)']);
    assert.deepEqual(await rowsOf(upgraded, 'schema_migrations'), ['(test/001-items,1700000000000)', '(test/002-extra,1800000000000)']);

    // A module's chain grew: a new migration sits before one the snapshot has. Applied like migrate() does live.
    const grown = schemaName('grown');
    const newer = await migratedSchema([itemsTable, m2]);
    const newerChunks: Buffer[] = [];
    await exportPgSchema(pool, newer, async (plain) => void newerChunks.push(plain), { chunkBytes: 4096, boundaryKey: randomBytes(32) });
    const grownResult = await importPgSchema(pool, grown, (async function* () { yield* newerChunks; })(), [itemsTable, between, m2]);
    assert.deepEqual(grownResult.upgraded, ['test/001b-between']);
    assert.ok((await pool.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'items_body'`, [grown])).rowCount === 1);

    // The code lacks a migration the snapshot has: a newer version's snapshot, refused, nothing left.
    const refused = schemaName('refused');
    await assert.rejects(
      importPgSchema(pool, refused, (async function* () { yield* newerChunks; })(), [itemsTable]),
      (e) => e instanceof BackupError && e.code === 'restore-refused' && e.message.includes('test/002-extra'),
    );
    assert.equal(await schemaExists(refused), false);
  });

  it('a whole deployment on the real migrations: snapshot, verify, restore a tenant and swap it in under the running storage', async () => {
    const storagePrefix = `${prefix}d`;
    const storage: Storage = await openStorage({ engine: 'postgres', postgres: { url: url as string, poolSize: 4, statementTimeoutMs: 30_000, schemaPrefix: storagePrefix } }, tresorMigrations);
    try {
      const db = await storage.tenant('clinic', { create: true });
      const insertResource = (id: string, keyVersion: number) =>
        db.execute(`INSERT INTO ${db.table('resources')} (resource_type, id, version_id, last_updated, deleted, content, sealed, key_subject, key_id, key_version) VALUES ('Patient', ?, 1, 1, 0, '{}', ?, 'Patient/x', 'k', ?)`, [id, `["v1.${'0'.repeat(16)}.${keyVersion}.sealed"]`, keyVersion]);
      for (let i = 0; i < 30; i++) await insertResource(`p${i}`, 2);
      for (let i = 0; i < 12; i++) await db.execute(`INSERT INTO ${db.table('audit_pending')} (at, event) VALUES (?, ?)`, [i, `{"n":${i}}`]);
      const repo = await repository();
      const manifest = await takeSnapshot(deps(repo), pgDataSetsOf(storage, ['clinic']), Date.now());
      assert.deepEqual(manifest.dataSets.map((d) => [d.kind, d.id, d.format]), [['platform', 'platform', 'pg-rows/1'], ['keys', 'keys', 'pg-rows/1'], ['tenant', 'clinic', 'pg-rows/1']]);
      assert.deepEqual([...(manifest.dataSets[2]?.migrations ?? [])].sort(), tresorMigrations.tenant.map((m) => m.id).sort());
      assert.equal(manifest.dataSets[2]?.counts['resources'], 30);
      const report = await verifySnapshot({ repository: repo, keys, postgres: storage.postgres }, manifest.id);
      assert.equal(report.dataSets, 3);
      assert.deepEqual(await schemasLike(`${storagePrefix}\\_verify\\_%`), []);

      // Changes after the snapshot, then the tenant restored to it, in place.
      for (let i = 30; i < 40; i++) await insertResource(`p${i}`, 2);
      await db.execute(`DELETE FROM ${db.table('resources')} WHERE id = 'p0'`);
      const restored = `${storagePrefix}_restore_clinic`;
      const tenantSet = (manifest as Manifest).dataSets.find((d) => d.kind === 'tenant')!;
      await restorePgDataSet({ repository: repo, keys, migrations: storage.postgres!.migrations }, manifest, tenantSet, storage.postgres!.pool, restored);
      await swapPgSchema(storage.postgres!.pool, storage.describeTenant('clinic'), restored);
      const ids = await db.query<{ id: string }>(`SELECT id FROM ${db.table('resources')} ORDER BY id`);
      assert.equal(ids.length, 30, 'the open handle reads the restored rows');
      assert.ok(ids.some((r) => r.id === 'p0'));
      const next = await db.query<{ id: number }>(`INSERT INTO ${db.table('audit_pending')} (at, event) VALUES (99, '{}') RETURNING id`);
      assert.equal(Number(next[0]?.id), 13, 'the sequence went on from the snapshot');
      // The key floor's trigger function names the live schema (not the temporary one it was restored under).
      await db.execute(`UPDATE ${db.table('key_floor')} SET version = 3`);
      await assert.rejects(insertResource('stale', 2), /tresor:stale-key/);
      await insertResource('fresh', 3);
      assert.deepEqual(await schemasLike(`${storagePrefix}\\_%`), [`${storagePrefix}_keys`, `${storagePrefix}_platform`, `${storagePrefix}_t_clinic`].sort());
    } finally {
      await storage.close();
      await dropPgSchemas(storagePrefix);
    }
  });
});
