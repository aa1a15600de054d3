import type { Migration } from '../platform/db/index.js';

// Whom an alert has reached, in the realm's data set beside the alert: written after the mail
// of a step is handed to the notifier's outbox, so a crash before that leaves the step due and
// the next round (this process, a restart, or another node) sends it; an alert without a row
// has reached nobody yet. `severity` is the one the last step went out with: an alert that
// grew more severe is told again.
const tables = (t: (name: string) => string) => [
  `CREATE TABLE ${t('alert_escalation')} (alert_id TEXT PRIMARY KEY, level SMALLINT NOT NULL, severity TEXT NOT NULL, notified_at BIGINT NOT NULL, next_at BIGINT)`,
  `CREATE INDEX alert_escalation_next ON ${t('alert_escalation')} (next_at)`,
];

/** Applied to every realm's data set (each tenant's and the operators'), after detection's own. */
export const escalationMigrations: readonly Migration[] = [{ id: 'detection-escalation/001-state', up: { sqlite: tables, postgres: tables } }];
