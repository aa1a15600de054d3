import type { Migration } from '../platform/db/index.js';

// GDPR Art. 18: one row per restricted patient. The ground is a code of Art. 18(1) (a–d), not
// free text, so that nothing personal sits unencrypted here; who set it is in the audit trail.
const restrictionTable = (t: (name: string) => string) => [
  `CREATE TABLE ${t('privacy_restrictions')} (patient TEXT PRIMARY KEY, ground TEXT NOT NULL, allowed_roles TEXT NOT NULL, restricted_by TEXT NOT NULL, request_id TEXT, restricted_at BIGINT NOT NULL)`,
];

export const restrictionMigrations: readonly Migration[] = [{ id: 'privacy/restriction-001-table', up: { sqlite: restrictionTable, postgres: restrictionTable } }];
