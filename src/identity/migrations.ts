import type { Migration } from '../platform/db/index.js';

const apiKeys = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('api_keys')} (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL, label TEXT NOT NULL, secret_hash ${blob} NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)`,
  `CREATE INDEX api_keys_tenant ON ${t('api_keys')} (tenant_id)`,
];

// Consecutive login failures per submitted identifier (a keyed hash of it, never the identifier): see throttle.ts.
const loginThrottle = (t: (name: string) => string) => [
  `CREATE TABLE ${t('login_throttle')} (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL, locked INTEGER NOT NULL)`,
];

export const identityMigrations: readonly Migration[] = [
  { id: 'identity/001-api-keys', up: { sqlite: (t) => apiKeys(t, 'BLOB'), postgres: (t) => apiKeys(t, 'BYTEA') } },
  { id: 'identity/002-login-throttle', up: { sqlite: loginThrottle, postgres: loginThrottle } },
];
