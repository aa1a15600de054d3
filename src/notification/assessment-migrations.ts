import type { Migration } from '../platform/db/index.js';

// The breach notification checklist of an incident, in the platform data set beside the
// incident. One assessment per incident: computed from one frozen scope (its id and hash), with
// the inputs that are not in the scope — the time of awareness, the platform's role, the regimes
// and per tenant the residency *counts* (never who lives where). Each item keeps the computed
// result as JSON (reasons and counts, never patients) beside a person's override and the record
// of its notification. Stages keep one row per deadline alert already raised.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('notification_assessments')} (incident_id TEXT PRIMARY KEY, scope_id TEXT NOT NULL, scope_hash TEXT NOT NULL, aware_at BIGINT NOT NULL, aware_reason TEXT, aware_by TEXT, aware_changed_at BIGINT, role TEXT NOT NULL, regimes TEXT NOT NULL, residency TEXT NOT NULL, computed_at BIGINT NOT NULL, computed_by TEXT NOT NULL, changed TEXT NOT NULL)`,
  `CREATE TABLE ${t('notification_items')} (incident_id TEXT NOT NULL, item_key TEXT NOT NULL, tenant_id TEXT NOT NULL, computed TEXT NOT NULL, answer TEXT NOT NULL, due_at BIGINT, override_answer TEXT, override_reason TEXT, override_by TEXT, override_at BIGINT, done_at BIGINT, done_by TEXT, done_how TEXT, PRIMARY KEY (incident_id, item_key))`,
  `CREATE INDEX notification_items_due ON ${t('notification_items')} (due_at)`,
  `CREATE TABLE ${t('notification_stages')} (incident_id TEXT NOT NULL, item_key TEXT NOT NULL, stage TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (incident_id, item_key, stage))`,
];

/** Applied to the platform data set (platform-migrations.ts). SQL text only. */
export const assessmentMigrations: readonly Migration[] = [{ id: 'notification/001-assessments', up: { sqlite: tables, postgres: tables } }];
