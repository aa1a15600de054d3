import type { Migration } from '../platform/db/index.js';

// Tenant alerts that reached the platform operators' level of the escalation, in the platform
// data set: the operators' console lists them across tenants without opening every tenant's
// data set. Outward fields only (as webhooks and syslog send them: ids, rule, counts, the
// finding's sentence), never record contents; `state` is the tenant alert's as last known — the
// tenant's data set holds the truth, and every display re-reads it.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('escalated_alerts')} (realm TEXT NOT NULL, alert_id TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, state TEXT NOT NULL, count INTEGER NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL, reached_at BIGINT NOT NULL, PRIMARY KEY (realm, alert_id))`,
  `CREATE INDEX escalated_alerts_reached ON ${t('escalated_alerts')} (reached_at)`,
];

/** Applied to the platform data set (platform-migrations.ts). SQL text only. */
export const escalatedMigrations: readonly Migration[] = [{ id: 'detection-escalated/001-alerts', up: { sqlite: tables, postgres: tables } }];
