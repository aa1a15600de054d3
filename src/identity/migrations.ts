import type { Migration } from '../platform/db/index.js';

const apiKeys = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('api_keys')} (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL, label TEXT NOT NULL, secret_hash ${blob} NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)`,
  `CREATE INDEX api_keys_tenant ON ${t('api_keys')} (tenant_id)`,
];

// Consecutive login failures per submitted identifier (a keyed hash of it, never the identifier): see throttle.ts.
const loginThrottle = (t: (name: string) => string) => [
  `CREATE TABLE ${t('login_throttle')} (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL, locked INTEGER NOT NULL)`,
];

// The placeholder roles of API keys before the permission matrix: an `admin` or `clinician` key
// was a backend integration with full record access (now `service`), `reader` read-only.
const keyRoleNames = () => [
  `UPDATE api_keys SET role = 'service' WHERE role IN ('admin', 'clinician')`,
  `UPDATE api_keys SET role = 'service-reader' WHERE role = 'reader'`,
];

// Per-source-address windows (login failures, password-reset requests), shared by every node of a
// deployment (issue 8: no rate limit in one process's memory). Rows live one window (10 minutes).
const sourceWindows = (t: (name: string) => string) => [
  `CREATE TABLE ${t('source_events')} (kind TEXT NOT NULL, source TEXT NOT NULL, at BIGINT NOT NULL)`,
  `CREATE INDEX source_events_lookup ON ${t('source_events')} (kind, source, at)`,
];

export const identityMigrations: readonly Migration[] = [
  { id: 'identity/001-api-keys', up: { sqlite: (t) => apiKeys(t, 'BLOB'), postgres: (t) => apiKeys(t, 'BYTEA') } },
  { id: 'identity/002-login-throttle', up: { sqlite: loginThrottle, postgres: loginThrottle } },
  { id: 'identity/003-key-roles', up: { sqlite: (t) => keyRoleNames().map((sql) => sql.replace('api_keys', t('api_keys'))), postgres: (t) => keyRoleNames().map((sql) => sql.replace('api_keys', t('api_keys'))) } },
  { id: 'identity/004-source-windows', up: { sqlite: sourceWindows, postgres: sourceWindows } },
];
