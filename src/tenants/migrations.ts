import type { Migration } from '../platform/db/index.js';

export const tenantsMigrations: readonly Migration[] = [
  {
    id: 'tenants/001-create',
    up: {
      sqlite: (t) => [
        `CREATE TABLE ${t('tenants')} (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'disabled')), created_at BIGINT NOT NULL, disabled_at BIGINT)`,
      ],
      postgres: (t) => [
        `CREATE TABLE ${t('tenants')} (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'disabled')), created_at BIGINT NOT NULL, disabled_at BIGINT)`,
      ],
    },
  },
];
