import type { Migration } from '../platform/db/index.js';

/**
 * The tenant data set's tables of erasure, legal holds and retention (SQL only). An erasure
 * record keeps only what proves the erasure happened (GDPR Art. 5(2) accountability): the
 * subject's id, when, who approved it, the request, counts and the tombstone's state — never a
 * name, an address or record contents.
 */
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('privacy_holds')} (id TEXT PRIMARY KEY, subject TEXT NOT NULL, reason TEXT NOT NULL, set_by TEXT NOT NULL, set_at BIGINT NOT NULL, ends_at BIGINT, released_at BIGINT, released_by TEXT, release_reason TEXT)`,
  `CREATE INDEX privacy_holds_subject ON ${t('privacy_holds')} (subject, released_at)`,
  `CREATE TABLE ${t('privacy_erasures')} (id TEXT PRIMARY KEY, subject TEXT NOT NULL, erased_at BIGINT NOT NULL, approved_by TEXT NOT NULL, approved_role TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, request_id TEXT, key_versions INTEGER NOT NULL, records INTEGER NOT NULL, consents INTEGER NOT NULL, accounts INTEGER NOT NULL, grants INTEGER NOT NULL, requests INTEGER NOT NULL, tombstone TEXT NOT NULL, confirmation TEXT NOT NULL, duty_overridden_until BIGINT)`,
  `CREATE INDEX privacy_erasures_at ON ${t('privacy_erasures')} (erased_at)`,
  `CREATE TABLE ${t('privacy_retention_settings')} (name TEXT PRIMARY KEY, years INTEGER, changed_at BIGINT NOT NULL, changed_by TEXT NOT NULL)`,
  `CREATE TABLE ${t('privacy_retention_runs')} (id TEXT PRIMARY KEY, ran_at BIGINT NOT NULL, report TEXT NOT NULL)`,
  `CREATE INDEX privacy_retention_runs_at ON ${t('privacy_retention_runs')} (ran_at)`,
];

export const erasureMigrations: readonly Migration[] = [{ id: 'privacy/erasure-001', up: { sqlite: tables, postgres: tables } }];
