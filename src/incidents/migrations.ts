import type { Migration } from '../platform/db/index.js';

// Incidents live in the platform data set: one incident may concern several tenants, and the
// operators list them all without opening every tenant's data set. Outward fields of linked
// alerts only (ids, rule, counts, the finding's sentence), never record contents. The timeline
// is append-only: nothing updates or deletes its rows.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('incidents')} (id TEXT PRIMARY KEY, title TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL, owner_realm TEXT NOT NULL, owner_id TEXT NOT NULL, opened_by TEXT NOT NULL, opened_at BIGINT NOT NULL, aware_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, closed_at BIGINT, published INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 1)`,
  `CREATE INDEX incidents_opened ON ${t('incidents')} (opened_at, id)`,
  `CREATE TABLE ${t('incident_tenants')} (incident_id TEXT NOT NULL, tenant_id TEXT NOT NULL, PRIMARY KEY (incident_id, tenant_id))`,
  `CREATE INDEX incident_tenants_tenant ON ${t('incident_tenants')} (tenant_id, incident_id)`,
  `CREATE TABLE ${t('incident_alerts')} (incident_id TEXT NOT NULL, realm TEXT NOT NULL, alert_id TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, state TEXT NOT NULL, count INTEGER NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL, linked_at BIGINT NOT NULL, linked_by TEXT NOT NULL, PRIMARY KEY (incident_id, realm, alert_id))`,
  `CREATE TABLE ${t('incident_timeline')} (incident_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL, by_actor TEXT NOT NULL, visible_to TEXT NOT NULL, text TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (incident_id, seq))`,
  `CREATE TABLE ${t('incident_tasks')} (incident_id TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, assignee TEXT, due_at BIGINT, visible_to TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, done_at BIGINT, done_by TEXT, PRIMARY KEY (incident_id, id))`,
  `CREATE TABLE ${t('incident_deliveries')} (incident_id TEXT NOT NULL, seq INTEGER NOT NULL, tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, status TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (incident_id, seq, tenant_id, recipient))`,
];

// Breach scopes frozen into an incident: the scope JSON exactly as computed (its inputs
// included) and its SHA-256, so the numbers can be derived again and compared. Append-only:
// nothing updates or deletes a row; computing again adds one. The id is time-ordered.
const scopes = (t: (name: string) => string) => [
  `CREATE TABLE ${t('incident_scopes')} (incident_id TEXT NOT NULL, id TEXT NOT NULL, computed_at BIGINT NOT NULL, computed_by TEXT NOT NULL, hash TEXT NOT NULL, scope TEXT NOT NULL, PRIMARY KEY (incident_id, id))`,
];

/** Applied to the platform data set (platform-migrations.ts). SQL text only. */
export const incidentMigrations: readonly Migration[] = [
  { id: 'incidents/001-incidents', up: { sqlite: tables, postgres: tables } },
  { id: 'incidents/002-frozen-scopes', up: { sqlite: scopes, postgres: scopes } },
];
