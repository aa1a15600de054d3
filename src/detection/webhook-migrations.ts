import type { Migration } from '../platform/db/index.js';

// Alert delivery lives in the realm's data set beside its alerts: the webhook endpoints its
// admins registered (the signing secret sealed), one queue row per alert change and target (a
// webhook endpoint, or `syslog`), and the log of every attempt. The queue is the durable
// cursor: a change is a row until it is delivered or given up, whatever restarts meanwhile, and
// the unique (target, alert, version) makes a change one delivery however often it is enqueued.
const tables = (blob: string) => (t: (name: string) => string) => [
  `CREATE TABLE ${t('webhook_endpoints')} (id TEXT PRIMARY KEY, url TEXT NOT NULL, description TEXT NOT NULL, secret_sealed ${blob} NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  `CREATE TABLE ${t('alert_deliveries')} (id TEXT PRIMARY KEY, target TEXT NOT NULL, alert_id TEXT NOT NULL, version TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at BIGINT NOT NULL, created_at BIGINT NOT NULL, done_at BIGINT, UNIQUE (target, alert_id, version))`,
  `CREATE INDEX alert_deliveries_due ON ${t('alert_deliveries')} (state, next_at)`,
  `CREATE TABLE ${t('alert_delivery_attempts')} (delivery_id TEXT NOT NULL, target TEXT NOT NULL, attempt INTEGER NOT NULL, at BIGINT NOT NULL, status INTEGER, error TEXT, duration_ms INTEGER NOT NULL, PRIMARY KEY (delivery_id, attempt))`,
  `CREATE INDEX alert_delivery_attempts_target ON ${t('alert_delivery_attempts')} (target, at)`,
  // Where a target's scan for missed changes starts (syslog: when it was first configured).
  `CREATE TABLE ${t('alert_delivery_targets')} (target TEXT PRIMARY KEY, since BIGINT NOT NULL)`,
];

/** Applied to every realm's data set (each tenant's and the operators'), after detection's. */
export const webhookMigrations: readonly Migration[] = [{ id: 'detection/101-alert-delivery', up: { sqlite: tables('BLOB'), postgres: tables('BYTEA') } }];
