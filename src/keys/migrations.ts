import type { Migration } from '../platform/db/index.js';

// The key store is its own data set (SQLite keys.db, PostgreSQL schema <prefix>_keys), apart
// from every tenant's records, so backups and access rules can treat it separately.
const tables = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('tenant_keys')} (tenant_id TEXT NOT NULL, purpose TEXT NOT NULL CHECK (purpose IN ('kek', 'index')), version INTEGER NOT NULL, wrapped ${blob} NOT NULL, master_version INTEGER NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, purpose, version))`,
  `CREATE TABLE ${t('data_keys')} (tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, subject TEXT NOT NULL, version INTEGER NOT NULL, wrapped ${blob}, kek_version INTEGER NOT NULL, created_at BIGINT NOT NULL, shredded_at BIGINT, PRIMARY KEY (tenant_id, key_id, version))`,
  `CREATE UNIQUE INDEX data_keys_subject ON ${t('data_keys')} (tenant_id, subject, version)`,
];

// Signing keys (Ed25519, e.g. for audit checkpoints): the private key wrapped by the master key.
const signing = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('signing_keys')} (purpose TEXT NOT NULL, version INTEGER NOT NULL, wrapped ${blob} NOT NULL, master_version INTEGER NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (purpose, version))`,
];

// Master key versions kept for backups: a snapshot or physical backup restores a key store
// wrapped under the versions in use when it was taken, so those versions outlive a rotation
// until retention has pruned the last backup that needs them. No key material.
const holds = (t: (name: string) => string) => [
  `CREATE TABLE ${t('key_holds')} (holder TEXT NOT NULL, master_version INTEGER NOT NULL, until BIGINT, held_at BIGINT NOT NULL, PRIMARY KEY (holder, master_version))`,
];

export const keysMigrations: readonly Migration[] = [
  { id: 'keys/001-key-store', up: { sqlite: (t) => tables(t, 'BLOB'), postgres: (t) => tables(t, 'BYTEA') } },
  { id: 'keys/002-signing-keys', up: { sqlite: (t) => signing(t, 'BLOB'), postgres: (t) => signing(t, 'BYTEA') } },
  { id: 'keys/003-backup-holds', up: { sqlite: holds, postgres: holds } },
];
