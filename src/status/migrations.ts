import type { Migration } from '../platform/db/index.js';

/**
 * The status page's tables in the platform data set (SQL text only; platform-migrations.ts
 * lists them): probe samples of the last day, per-day buckets for 90 days, what the page
 * publishes, and the operators' overrides.
 */
const statements = (t: (table: string) => string): string[] => [
  `CREATE TABLE ${t('status_samples')} (component TEXT NOT NULL, at BIGINT NOT NULL, state TEXT NOT NULL)`,
  `CREATE INDEX status_samples_at ON ${t('status_samples')} (at)`,
  `CREATE TABLE ${t('status_days')} (component TEXT NOT NULL, day TEXT NOT NULL, counts TEXT NOT NULL, PRIMARY KEY (component, day))`,
  `CREATE TABLE ${t('status_entries')} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, components TEXT NOT NULL, status TEXT NOT NULL, impact TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, updates TEXT NOT NULL)`,
  `CREATE INDEX status_entries_updated ON ${t('status_entries')} (updated_at)`,
  `CREATE TABLE ${t('status_overrides')} (component TEXT PRIMARY KEY, state TEXT NOT NULL, note TEXT NOT NULL, until BIGINT NOT NULL)`,
];

export const statusMigrations: readonly Migration[] = [{ id: 'status/001-status-page', up: { sqlite: statements, postgres: statements } }];
