import type { Migration } from '../platform/db/index.js';

// The audit trail lives in each tenant's own data set, so a record change and its event commit
// in one transaction. `audit_head` holds the chain's newest seq and hash: appends lock it, so
// events are chained in commit order even with several writers (PostgreSQL nodes, the CLI).
// `audit_subjects` indexes events by patient for "who saw my data".
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('audit_events')} (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, client TEXT NOT NULL, purpose TEXT NOT NULL, resources TEXT NOT NULL, subjects TEXT NOT NULL, classes TEXT NOT NULL, request_id TEXT NOT NULL, source_ip TEXT NOT NULL, detail TEXT NOT NULL, hash TEXT NOT NULL)`,
  `CREATE INDEX audit_events_at ON ${t('audit_events')} (at)`,
  `CREATE TABLE ${t('audit_subjects')} (subject TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (subject, seq))`,
  `CREATE TABLE ${t('audit_head')} (id SMALLINT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)`,
];

// How far each SIEM sink has been sent: the audit table itself is the buffer.
const shipped = (t: (name: string) => string) => [`CREATE TABLE ${t('audit_shipped')} (sink TEXT PRIMARY KEY, seq BIGINT NOT NULL)`];

// PostgreSQL writers leave their events here, committed with the change, for the chainer (see
// store.ts insertPending). SQLite has a single writer and chains in the writer's transaction.
const pending = (t: (name: string) => string) => [`CREATE TABLE ${t('audit_pending')} (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, event TEXT NOT NULL)`];

// A breach scope reads one credential's events over a window: by (actor_id, at) it touches
// only those rows instead of every event of the window (docs/breach-scope.md says what building
// it costs on a large existing trail).
const actorIndex = (t: (name: string) => string) => [`CREATE INDEX audit_events_actor ON ${t('audit_events')} (actor_id, at)`];

/** Applied to every tenant data set, after the records module's chain. */
export const auditMigrations: readonly Migration[] = [
  { id: 'audit/001-events', up: { sqlite: tables, postgres: tables } },
  { id: 'audit/002-shipping', up: { sqlite: shipped, postgres: shipped } },
  { id: 'audit/003-pending', up: { sqlite: () => [], postgres: pending } },
  { id: 'audit/004-actor-index', up: { sqlite: actorIndex, postgres: actorIndex } },
];
