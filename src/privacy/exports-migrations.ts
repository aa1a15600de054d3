import type { Migration } from '../platform/db/index.js';

// The personal downloads of a tenant's patients, in the tenant's own data set (so they stay in
// its region): state and progress, who asked, when the links expire, the download token's
// SHA-256 only, and which data key sealed the files (the patient's own: erasing the patient
// makes the files unreadable too). `owner` is the server process preparing it and `heartbeat_at`
// its last progress: another process fails it once it stops moving (a restart, a crash).
const exportsTable = (t: (name: string) => string) => [
  `CREATE TABLE ${t('privacy_exports')} (id TEXT PRIMARY KEY, patient TEXT NOT NULL, requested_by TEXT NOT NULL, requested_role TEXT NOT NULL, request_ref TEXT, state TEXT NOT NULL, done INTEGER NOT NULL, total INTEGER NOT NULL, created_at BIGINT NOT NULL, finished_at BIGINT, expires_at BIGINT NOT NULL, token_hash TEXT, key_id TEXT, key_version INTEGER, files TEXT NOT NULL, error TEXT, owner TEXT NOT NULL, heartbeat_at BIGINT NOT NULL)`,
  `CREATE INDEX privacy_exports_patient ON ${t('privacy_exports')} (patient, created_at)`,
  `CREATE INDEX privacy_exports_state ON ${t('privacy_exports')} (state, expires_at)`,
];

export const privacyExportMigrations: readonly Migration[] = [{ id: 'privacy/001-exports', up: { sqlite: exportsTable, postgres: exportsTable } }];
