import type { Migration } from '../platform/db/index.js';

// Drafts of breach notices, in the platform data set beside the incident they belong to. A draft
// names its frozen scope (and that scope's hash) and a tenant; it holds the operator's free text
// only — the facts are derived from the frozen scope whenever the notice is rendered, and the
// people's names and addresses are read again from their records (never stored here).
// The delivery log has one row per recipient and channel: a patient by `Patient/<id>`, an admin
// by account id, never an address; its primary key is what makes a send resumable.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('notice_drafts')} (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, kind TEXT NOT NULL, tenant_id TEXT NOT NULL, scope_id TEXT NOT NULL, scope_hash TEXT NOT NULL, state TEXT NOT NULL, free_text TEXT NOT NULL, version INTEGER NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, edited_at BIGINT NOT NULL, edited_by TEXT NOT NULL, approved_at BIGINT, approved_by TEXT, sent_at BIGINT, sent_by TEXT)`,
  `CREATE INDEX notice_drafts_incident ON ${t('notice_drafts')} (incident_id, id)`,
  `CREATE TABLE ${t('notice_deliveries')} (draft_id TEXT NOT NULL, recipient TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, code TEXT, message_id TEXT, at BIGINT NOT NULL, attempts INTEGER NOT NULL, PRIMARY KEY (draft_id, recipient, channel))`,
];

/** Applied to the platform data set (platform-migrations.ts). SQL text only. */
export const noticeDraftMigrations: readonly Migration[] = [{ id: 'notification/001-drafts', up: { sqlite: tables, postgres: tables } }];
