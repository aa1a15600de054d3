import type { Migration } from '../platform/db/index.js';

const apiKeys = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('api_keys')} (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, role TEXT NOT NULL, label TEXT NOT NULL, secret_hash ${blob} NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)`,
  `CREATE INDEX api_keys_tenant ON ${t('api_keys')} (tenant_id)`,
];

export const identityMigrations: readonly Migration[] = [
  { id: 'identity/001-api-keys', up: { sqlite: (t) => apiKeys(t, 'BLOB'), postgres: (t) => apiKeys(t, 'BYTEA') } },
];
