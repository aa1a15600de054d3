import type { Migration } from '../platform/db/index.js';

// `C` collation on PostgreSQL makes text order byte-wise, as SQLite's BINARY is: starts-with
// ranges then mean the same thing on both engines and use the index.
const tables = (t: (name: string) => string, collate: string) => [
  `CREATE TABLE ${t('resources')} (resource_type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL, last_updated BIGINT NOT NULL, deleted SMALLINT NOT NULL DEFAULT 0, sort_date BIGINT, content TEXT NOT NULL, PRIMARY KEY (resource_type, id))`,
  `CREATE INDEX resources_updated ON ${t('resources')} (resource_type, last_updated)`,
  `CREATE TABLE ${t('resource_versions')} (resource_type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL, last_updated BIGINT NOT NULL, deleted SMALLINT NOT NULL, content TEXT, PRIMARY KEY (resource_type, id, version_id))`,
  `CREATE TABLE ${t('search_index')} (resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, param TEXT NOT NULL, system TEXT${collate}, value TEXT${collate}, low BIGINT, high BIGINT)`,
  `CREATE INDEX search_index_lookup ON ${t('search_index')} (resource_type, param, value, resource_id)`,
  `CREATE INDEX search_index_resource ON ${t('search_index')} (resource_type, resource_id, param)`,
  `CREATE TABLE ${t('resource_links')} (resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL)`,
  `CREATE INDEX resource_links_source ON ${t('resource_links')} (resource_type, resource_id)`,
  `CREATE INDEX resource_links_target ON ${t('resource_links')} (target_type, target_id)`,
];

// Field-level encryption: `content` keeps the plaintext (public/internal) elements, `sealed` the
// AES-GCM envelopes of the rest, `key_subject` whose data key sealed them (for crypto-shredding).
const sealing = (t: (name: string) => string) => [
  `ALTER TABLE ${t('resources')} ADD COLUMN sealed TEXT`,
  `ALTER TABLE ${t('resources')} ADD COLUMN key_subject TEXT`,
  `ALTER TABLE ${t('resource_versions')} ADD COLUMN sealed TEXT`,
  `CREATE INDEX resources_key_subject ON ${t('resources')} (key_subject)`,
];

export const recordsMigrations: readonly Migration[] = [
  { id: 'records/001-resources', up: { sqlite: (t) => tables(t, ''), postgres: (t) => tables(t, ' COLLATE "C"') } },
  { id: 'records/002-sealed-fields', up: { sqlite: sealing, postgres: sealing } },
];
