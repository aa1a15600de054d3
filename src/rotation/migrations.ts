import type { Migration } from '../platform/db/index.js';

// Key rotation jobs live in the key store's data set, beside the keys they move: progress and a
// lease, so a job survives a crash and only one process runs it at a time. No key material.
// `scope_key` is 'master' or 'tenant:<id>'; the partial unique index allows one open job per scope.
const jobs = (t: (name: string) => string) => [
  `CREATE TABLE ${t('key_rotations')} (id TEXT PRIMARY KEY, scope_key TEXT NOT NULL, scope TEXT NOT NULL CHECK (scope IN ('master', 'tenant')), tenant_id TEXT, generation INTEGER NOT NULL, phase TEXT NOT NULL, switched_at BIGINT NOT NULL, cursor TEXT, rows_total BIGINT NOT NULL DEFAULT 0, rows_done BIGINT NOT NULL DEFAULT 0, fields_done BIGINT NOT NULL DEFAULT 0, rows_skipped BIGINT NOT NULL DEFAULT 0, retired TEXT, lease_owner TEXT, lease_until BIGINT, started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, finished_at BIGINT)`,
  `CREATE UNIQUE INDEX key_rotations_open ON ${t('key_rotations')} (scope_key) WHERE finished_at IS NULL`,
];

/** Applied to the key store's data set, after the keys module's own chain. */
export const rotationMigrations: readonly Migration[] = [{ id: 'rotation/001-jobs', up: { sqlite: jobs, postgres: jobs } }];
