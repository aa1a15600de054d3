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

// Key rotation: each stored version names the data key (id, version) that sealed it, so the
// rotation job finds what is still under an old version without opening anything; a deleted
// current row keeps no copy of its last content (resource_versions holds it). `key_floor` is
// the oldest key version a write may still use: once a rotation has re-encrypted everything, it
// raises the floor, and the triggers refuse any late write sealed under an older version, so
// nothing can come to depend on a key that is about to be retired.
const keyColumns = (t: (name: string) => string) => [
  `ALTER TABLE ${t('resources')} ADD COLUMN key_id TEXT`,
  `ALTER TABLE ${t('resources')} ADD COLUMN key_version INTEGER`,
  `ALTER TABLE ${t('resource_versions')} ADD COLUMN key_id TEXT`,
  `ALTER TABLE ${t('resource_versions')} ADD COLUMN key_version INTEGER`,
  `UPDATE ${t('resources')} SET content = '{}', sealed = NULL WHERE deleted = 1`,
  `CREATE TABLE ${t('key_floor')} (id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`,
  `INSERT INTO ${t('key_floor')} (id, version) VALUES (1, 0)`,
];

// Envelopes read `["v1.<16 hex key id>.<version>.…`: the key id is characters 6–21.
const sqliteKeyColumns = (t: (name: string) => string) => [
  ...keyColumns(t),
  ...['resources', 'resource_versions'].map(
    (table) => `UPDATE ${t(table)} SET key_id = substr(sealed, 6, 16), key_version = CAST(substr(sealed, 23, instr(substr(sealed, 23), '.') - 1) AS INTEGER) WHERE sealed IS NOT NULL`,
  ),
  ...['resources', 'resource_versions'].flatMap((table) => [
    `CREATE TRIGGER ${table}_key_floor_insert BEFORE INSERT ON ${t(table)} WHEN NEW.key_version < (SELECT version FROM ${t('key_floor')}) BEGIN SELECT RAISE(ABORT, 'tresor:stale-key'); END`,
    `CREATE TRIGGER ${table}_key_floor_update BEFORE UPDATE OF sealed ON ${t(table)} WHEN NEW.sealed IS NOT OLD.sealed AND NEW.key_version < (SELECT version FROM ${t('key_floor')}) BEGIN SELECT RAISE(ABORT, 'tresor:stale-key'); END`,
  ]),
];

const postgresKeyColumns = (t: (name: string) => string) => [
  ...keyColumns(t),
  ...['resources', 'resource_versions'].map(
    (table) => `UPDATE ${t(table)} SET key_id = substr(sealed, 6, 16), key_version = split_part(substr(sealed, 23), '.', 1)::integer WHERE sealed IS NOT NULL`,
  ),
  `CREATE FUNCTION ${t('refuse_stale_key')}() RETURNS trigger LANGUAGE plpgsql AS $body$
   BEGIN
     IF NEW.key_version < (SELECT version FROM ${t('key_floor')}) THEN
       RAISE EXCEPTION 'tresor:stale-key' USING ERRCODE = 'P0001';
     END IF;
     RETURN NEW;
   END $body$`,
  ...['resources', 'resource_versions'].flatMap((table) => [
    `CREATE TRIGGER ${table}_key_floor_insert BEFORE INSERT ON ${t(table)} FOR EACH ROW WHEN (NEW.key_version IS NOT NULL) EXECUTE FUNCTION ${t('refuse_stale_key')}()`,
    `CREATE TRIGGER ${table}_key_floor_update BEFORE UPDATE OF sealed ON ${t(table)} FOR EACH ROW WHEN (NEW.sealed IS DISTINCT FROM OLD.sealed AND NEW.key_version IS NOT NULL) EXECUTE FUNCTION ${t('refuse_stale_key')}()`,
  ]),
];

// Search pages from an index walk: each index row carries its record's sort keys and compartment,
// so a search driven by one equality (patient, or a code with its system) reads its matches in
// page order from one index and stops after a page, and counts without touching a table row. The
// resource index covers every value a probe compares. Identical rows of one record are dropped:
// a walk must meet each record once.
const walkColumns = (t: (name: string) => string) => [
  `ALTER TABLE ${t('search_index')} ADD COLUMN last_updated BIGINT`,
  `ALTER TABLE ${t('search_index')} ADD COLUMN sort_date BIGINT`,
  `ALTER TABLE ${t('search_index')} ADD COLUMN key_subject TEXT`,
  `UPDATE ${t('search_index')} SET last_updated = r.last_updated, sort_date = r.sort_date, key_subject = r.key_subject FROM ${t('resources')} r WHERE r.resource_type = ${t('search_index')}.resource_type AND r.id = ${t('search_index')}.resource_id`,
];
const walkIndexes = (t: (name: string) => string) => [
  `DROP INDEX ${t('search_index_lookup')}`,
  `DROP INDEX ${t('search_index_resource')}`,
  `CREATE INDEX search_index_walk_updated ON ${t('search_index')} (resource_type, param, value, last_updated, resource_id, system, key_subject)`,
  `CREATE INDEX search_index_walk_date ON ${t('search_index')} (resource_type, param, value, sort_date, resource_id, system, key_subject)`,
  `CREATE INDEX search_index_of_resource ON ${t('search_index')} (resource_type, resource_id, param, system, value, low, high)`,
];
const duplicateKey = 'resource_type, resource_id, param, system, value, low, high';
const sqliteWalk = (t: (name: string) => string) => [
  ...walkColumns(t),
  `DELETE FROM ${t('search_index')} WHERE rowid NOT IN (SELECT MIN(rowid) FROM ${t('search_index')} GROUP BY ${duplicateKey})`,
  ...walkIndexes(t),
];
const postgresWalk = (t: (name: string) => string) => [
  ...walkColumns(t),
  `DELETE FROM ${t('search_index')} WHERE ctid NOT IN (SELECT MIN(ctid) FROM ${t('search_index')} GROUP BY ${duplicateKey})`,
  ...walkIndexes(t),
];

// An Observation's `patient` is searched through its `subject` rows (resource-types.ts,
// indexedAs): each create writes one index row fewer. A `subject` row is added where a data set
// somehow lacks it before the `patient` rows go, so no record stops being found.
const patientAsSubject = (t: (name: string) => string) => {
  const index = t('search_index');
  return [
    `INSERT INTO ${index} (resource_type, resource_id, param, system, value, low, high, last_updated, sort_date, key_subject) ` +
      `SELECT p.resource_type, p.resource_id, 'subject', p.system, p.value, p.low, p.high, p.last_updated, p.sort_date, p.key_subject FROM ${index} p ` +
      `WHERE p.resource_type = 'Observation' AND p.param = 'patient' AND NOT EXISTS (SELECT 1 FROM ${index} s WHERE s.resource_type = p.resource_type AND s.resource_id = p.resource_id AND s.param = 'subject' AND s.value = p.value)`,
    `DELETE FROM ${index} WHERE resource_type = 'Observation' AND param = 'patient'`,
  ];
};

// PostgreSQL estimates a driving equality as if `param` and `value` were independent; they are
// not (a `Patient/…` value occurs under reference parameters only). Without the copies, that
// guess fell to a quarter of a patient's rows and the planner sorted instead of walking;
// statistics on the columns together let ANALYZE see the dependency.
const postgresPatientAsSubject = (t: (name: string) => string) => [
  ...patientAsSubject(t),
  `CREATE STATISTICS IF NOT EXISTS ${t('search_index_param_value')} (dependencies, mcv) ON resource_type, param, value FROM ${t('search_index')}`,
];

const compartmentWalk = (t: (name: string) => string) => [`CREATE INDEX resources_compartment ON ${t('resources')} (key_subject, resource_type, id)`];

export const recordsMigrations: readonly Migration[] = [
  { id: 'records/001-resources', up: { sqlite: (t) => tables(t, ''), postgres: (t) => tables(t, ' COLLATE "C"') } },
  { id: 'records/002-sealed-fields', up: { sqlite: sealing, postgres: sealing } },
  { id: 'records/003-key-versions', up: { sqlite: sqliteKeyColumns, postgres: postgresKeyColumns } },
  { id: 'records/004-search-walk', up: { sqlite: sqliteWalk, postgres: postgresWalk } },
  { id: 'records/005-patient-as-subject', up: { sqlite: patientAsSubject, postgres: postgresPatientAsSubject } },
  // A patient's compartment in (type, id) order: Patient/$everything and the personal download page through it.
  { id: 'records/006-compartment-walk', up: { sqlite: compartmentWalk, postgres: compartmentWalk } },
];
