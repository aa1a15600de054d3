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
  {
    // Who must sign in with two factors (SPEC I3; OWASP ASVS 5 V6.3.3): everyone, staff only
    // (the default: everyone who can reach many patients' records), or nobody by policy.
    id: 'tenants/002-mfa-policy',
    up: {
      sqlite: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT 'staff' CHECK (mfa_policy IN ('everyone', 'staff', 'optional'))`],
      postgres: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT 'staff' CHECK (mfa_policy IN ('everyone', 'staff', 'optional'))`],
    },
  },
  {
    // Data residency: the region whose data directory (or database), key store and backup
    // repository hold the tenant. Tenants from before regions live in the home region.
    id: 'tenants/003-region',
    up: {
      sqlite: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN region TEXT NOT NULL DEFAULT 'default'`],
      postgres: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN region TEXT NOT NULL DEFAULT 'default'`],
    },
  },
  {
    // A move to another region in progress (regions/move-tenant.ts): since when, or NULL. Every
    // server process reads it with the tenant's status and answers the tenant's requests 503
    // meanwhile, so no process writes to the copy being made.
    id: 'tenants/004-moving',
    up: {
      sqlite: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN moving_since BIGINT`],
      postgres: (t) => [`ALTER TABLE ${t('tenants')} ADD COLUMN moving_since BIGINT`],
    },
  },
];
