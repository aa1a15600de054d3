import type { Migration } from '../platform/db/index.js';

// Data subjects' requests, in the tenant's own data set (they follow the tenant wherever its data
// lives). Ids, types, states and times in clear; everything a person wrote (the request, the
// verification note, proposed values, reasons, notes) in `sealed`, under the subject's data key:
// shredding the patient's key makes it unreadable, and erasure clears the column too. `stages`
// lists the deadline alerts already raised; `log` is the request's own history (no free text).
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('privacy_requests')} (id TEXT PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL, received_at BIGINT NOT NULL, due_at BIGINT NOT NULL, extended_at BIGINT, owner TEXT, created_by TEXT NOT NULL, updated_at BIGINT NOT NULL, closed_at BIGINT, stages TEXT NOT NULL DEFAULT '', sealed TEXT)`,
  `CREATE INDEX privacy_requests_subject ON ${t('privacy_requests')} (subject, received_at)`,
  `CREATE INDEX privacy_requests_due ON ${t('privacy_requests')} (state, due_at)`,
  `CREATE TABLE ${t('privacy_request_log')} (request_id TEXT NOT NULL, seq INTEGER NOT NULL, at BIGINT NOT NULL, by_actor TEXT NOT NULL, action TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (request_id, seq))`,
];

/** Applied to every tenant data set (tenant-migrations.ts). SQL text only. */
export const requestMigrations: readonly Migration[] = [{ id: 'privacy/001-requests', up: { sqlite: tables, postgres: tables } }];
