import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testPostgres } from '../../../test/support/harness.js';
import type { Migration } from './types.js';
import { openStorage, type StorageConfig, type StorageMigrations } from './storage.js';

const { skip, requirePg } = testPostgres();

const items: Migration = {
  id: 'test/001-items',
  up: { sqlite: (t) => [`CREATE TABLE ${t('items')} (id TEXT PRIMARY KEY)`], postgres: (t) => [`CREATE TABLE ${t('items')} (id TEXT PRIMARY KEY, note TEXT)`, `CREATE INDEX items_note ON ${t('items')} (note)`] },
};
const broken: Migration = { id: 'test/002-broken', up: { sqlite: () => ['SELEC 1'], postgres: (t) => [`CREATE TABLE ${t('more')} (id TEXT)`, 'SELEC 1'] } };
const migrationsWith = (tenant: Migration[]): StorageMigrations => ({ platform: [], keys: [], tenant });

describe('PostgreSQL: a new tenant schema and its migrations commit together', { skip }, () => {
  const prefix = `mg${process.pid}`;
  let admin: pg.Client;
  let config: StorageConfig;
  before(async () => {
    config = { engine: 'postgres', postgres: { url: requirePg('migration tests'), poolSize: 3, statementTimeoutMs: 10_000, schemaPrefix: prefix } };
    admin = new pg.Client({ connectionString: requirePg('migration tests') });
    await admin.connect();
  });
  after(async () => {
    const { rows } = await admin.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${prefix}\\_%`]);
    for (const row of rows) await admin.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
    await admin.end();
  });
  const schemaExists = async (name: string) => (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rowCount === 1;

  it('a failing migration leaves no schema behind (the schema is made inside the migration transaction)', async () => {
    const storage = await openStorage(config, migrationsWith([items, broken]));
    try {
      await assert.rejects(storage.tenant('failing', { create: true }), /syntax error/);
      assert.equal(await schemaExists(`${prefix}_t_failing`), false, 'no half-made tenant schema');
    } finally {
      await storage.close();
    }
  });

  it('two processes creating the same tenant at once both succeed, and the migrations apply once', async () => {
    const first = await openStorage(config, migrationsWith([items]));
    const second = await openStorage(config, migrationsWith([items]));
    try {
      await Promise.all([first.tenant('racing', { create: true }), second.tenant('racing', { create: true })]);
      const { rows } = await admin.query<{ id: string }>(`SELECT id FROM "${prefix}_t_racing".schema_migrations`);
      assert.deepEqual(rows.map((row) => row.id), ['test/001-items']);
      const db = await first.tenant('racing');
      await db.execute(`INSERT INTO ${db.table('items')} (id, note) VALUES (?, ?)`, ['a', 'n']);
      assert.equal((await (await second.tenant('racing')).query(`SELECT id FROM ${db.table('items')}`)).length, 1);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('applies several pending migrations in one go and reports how many', async () => {
    const more: Migration = { id: 'test/003-more', up: { sqlite: () => [], postgres: (t) => [`ALTER TABLE ${t('items')} ADD COLUMN at BIGINT`, `CREATE TABLE ${t('extra')} (id BIGINT PRIMARY KEY)`] } };
    const again: Migration = { id: 'test/004-again', up: { sqlite: () => [], postgres: (t) => [`CREATE INDEX extra_id ON ${t('extra')} (id)`] } };
    const older = await openStorage(config, migrationsWith([items]));
    await older.tenant('stepwise', { create: true });
    await older.close();
    const newer = await openStorage(config, migrationsWith([items, more, again]));
    try {
      assert.equal(await newer.migrateTenant('stepwise'), 2);
      assert.equal(await newer.migrateTenant('stepwise'), 0, 'a rerun applies nothing');
      const { rows } = await admin.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'items' ORDER BY column_name`, [`${prefix}_t_stepwise`]);
      assert.deepEqual(rows.map((row) => row.column_name), ['at', 'id', 'note']);
    } finally {
      await newer.close();
    }
  });
});
