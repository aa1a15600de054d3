import type { SqlExecutor } from '../platform/db/index.js';
import type { Alert } from './store.js';
import { selectAlert } from './store.js';
import type { Severity } from './types.js';

/** How far an alert's escalation went (escalation-migrations.ts `alert_escalation`). */
export interface EscalationStep {
  /** 0: console only (below the mail threshold); 1 admins, 2 security contact, 3 operators. */
  readonly level: number;
  /** The severity the last step went out with. */
  readonly severity: Severity;
  readonly notifiedAt: number;
  /** When the next step is due; undefined: none (the last level, or a severity that never escalates). */
  readonly nextAt?: number;
}

interface StepRow {
  alert_id: string;
  level: number | string | null;
  step_severity: string | null;
  notified_at: number | string | null;
  next_at: number | string | null;
}

/**
 * Open alerts with something due at `now`: none reached yet, the next step's time has come, or
 * the alert grew more severe than its last mail said. Most severe first, then oldest — so alerts
 * held by quiet hours (looked at again each round) never crowd a critical one out of a round's
 * batch; acknowledged and resolved alerts are never due (a person has it).
 */
export async function selectDue(db: SqlExecutor, realm: string, now: number, limit: number): Promise<Array<{ alert: Alert; step: EscalationStep | undefined }>> {
  const rows = await db.query<StepRow>(
    `SELECT a.id AS alert_id, e.level AS level, e.severity AS step_severity, e.notified_at AS notified_at, e.next_at AS next_at
       FROM ${db.table('alerts')} a LEFT JOIN ${db.table('alert_escalation')} e ON e.alert_id = a.id
      WHERE a.state = 'open' AND (e.alert_id IS NULL OR e.next_at <= ? OR e.severity <> a.severity)
      ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, a.first_at, a.id LIMIT ?`,
    [now, limit],
  );
  const due: Array<{ alert: Alert; step: EscalationStep | undefined }> = [];
  for (const row of rows) {
    const alert = await selectAlert(db, realm, row.alert_id);
    if (alert === undefined) continue;
    const step: EscalationStep | undefined =
      row.level === null ? undefined : { level: Number(row.level), severity: row.step_severity as Severity, notifiedAt: Number(row.notified_at), ...(row.next_at === null ? {} : { nextAt: Number(row.next_at) }) };
    due.push({ alert, step });
  }
  return due;
}

export async function selectStep(db: SqlExecutor, alertId: string): Promise<EscalationStep | undefined> {
  const row = (await db.query<StepRow>(`SELECT alert_id, level, severity AS step_severity, notified_at, next_at FROM ${db.table('alert_escalation')} WHERE alert_id = ?`, [alertId]))[0];
  return row === undefined ? undefined : { level: Number(row.level), severity: row.step_severity as Severity, notifiedAt: Number(row.notified_at), ...(row.next_at === null ? {} : { nextAt: Number(row.next_at) }) };
}

export async function saveStep(db: SqlExecutor, alertId: string, step: EscalationStep): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('alert_escalation')} (alert_id, level, severity, notified_at, next_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (alert_id) DO UPDATE SET level = excluded.level, severity = excluded.severity, notified_at = excluded.notified_at, next_at = excluded.next_at`,
    [alertId, step.level, step.severity, step.notifiedAt, step.nextAt ?? null],
  );
}

/** Whether an open alert of the realm may still need a step: none taken yet, one due later, or a severity changed since. */
export async function hasPendingSteps(db: SqlExecutor): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 AS one FROM ${db.table('alerts')} a LEFT JOIN ${db.table('alert_escalation')} e ON e.alert_id = a.id
      WHERE a.state = 'open' AND (e.alert_id IS NULL OR e.next_at IS NOT NULL OR e.severity <> a.severity) LIMIT 1`,
  );
  return rows.length > 0;
}

