import { operatorEvent, type Audit } from '../audit/index.js';
import type { Storage } from '../platform/db/index.js';
import type { AlertActor, AlertChange, Alerts } from './alerts.js';
import { DetectionError } from './errors.js';
import { refreshEscalated, saveEscalated, selectEscalated, selectEscalatedOne, type EscalatedFilter, type EscalatedRecord } from './escalated-store.js';
import { selectStep, type EscalationStep } from './escalation-store.js';
import { selectAlert, type Alert } from './store.js';
import type { Rule } from './types.js';

export type { EscalatedRecord } from './escalated-store.js';

/** One escalated tenant alert for the operators: the record, brought up to date from the tenant's data set. */
export interface EscalatedView {
  readonly record: EscalatedRecord;
  /** The tenant's alert as it is now; undefined when its data set could not be read (the record's last known state stands). */
  readonly alert: Alert | undefined;
}

export interface EscalatedDetail extends EscalatedView {
  /** How far the escalation went and when its last step was (escalation-store.ts); never the tenant's events. */
  readonly step: EscalationStep | undefined;
  readonly rule: Pick<Rule, 'id' | 'title' | 'describe'> | undefined;
}

export interface EscalatedAlerts {
  /**
   * The escalation reached the operators' level with this tenant alert, at `at`: recorded in the
   * platform data set before their mail is handed over (escalation.ts), so no operator is mailed
   * about an alert their console does not show.
   */
  reached(alert: Alert, at: number): Promise<void>;
  /** Newest escalation first; each record's state re-read from its tenant (and stored when it moved on). */
  list(filter: EscalatedFilter): Promise<EscalatedView[]>;
  /** 404 `alert-not-found` unless this tenant alert reached the operators. */
  get(realm: string, alertId: string): Promise<EscalatedDetail>;
  /**
   * An operator stops the escalation: the tenant's alert is acknowledged in the tenant's data set
   * and trail (`alert.acknowledged` by `operator:<id>`, alerts.ts), and the operators' trail says
   * who did it to which tenant's alert. 404 unless it reached the operators; 409 unless open.
   */
  acknowledge(realm: string, alertId: string, by: AlertActor): Promise<EscalatedView>;
  /** Follows a change of a tenant alert made in this process (alerts.onChange). */
  follow(change: AlertChange): Promise<void>;
}

export interface EscalatedAlertsDeps {
  readonly storage: Storage;
  readonly alerts: Pick<Alerts, 'acknowledge' | 'rules'>;
  readonly audit: Audit;
  readonly operatorRealm: string;
}

const alertIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const notFound = () => new DetectionError('alert-not-found', 'No such alert escalated to the operators.', { status: 404 });

const differs = (record: EscalatedRecord, alert: Alert) =>
  record.state !== alert.state || record.severity !== alert.severity || record.count !== alert.count || record.lastAt !== alert.lastAt || record.summary !== alert.summary;

/**
 * Tenant alerts that nobody at the tenant acknowledged in time and that so reached the platform
 * operators (escalation-policy.ts, the last level). The operators see each one's outward fields
 * — rule, severity, subject (an id), the finding's sentence, counts, times, state — and the steps
 * of its escalation; never the tenant's audit events, which stay the tenant's to read (least
 * privilege, OWASP ASVS 5 V8.2.1: the operators need to know that something is unanswered, not
 * what the clinic's people did). They can acknowledge it, which stops the escalation.
 */
export function createEscalatedAlerts({ storage, alerts, audit, operatorRealm }: EscalatedAlertsDeps): EscalatedAlerts {
  const platform = storage.platform;
  const ruleOf = (id: string) => alerts.rules.find((r) => r.id === id);

  // The tenant's data set holds the truth; a background visit, so a page of many tenants neither
  // keeps them open nor pushes the tenants in use out of the open set.
  async function current(record: EscalatedRecord): Promise<EscalatedView> {
    const alert = await storage.visitTenant(record.realm, (db) => selectAlert(db, record.realm, record.alertId)).catch(() => undefined);
    if (alert !== undefined && differs(record, alert)) await refreshEscalated(platform, alert);
    return { record, alert };
  }

  async function recordOf(realm: string, alertId: string): Promise<EscalatedRecord> {
    if (!alertIdPattern.test(alertId) || !tenantIdPattern.test(realm) || realm === operatorRealm) throw notFound();
    const record = await selectEscalatedOne(platform, realm, alertId);
    if (record === undefined) throw notFound();
    return record;
  }

  return {
    async reached(alert, at) {
      if (alert.realm === operatorRealm) return;
      await saveEscalated(platform, alert, at);
    },
    async list(filter) {
      const records = await selectEscalated(platform, filter);
      const views: EscalatedView[] = [];
      for (const record of records) views.push(await current(record));
      return views;
    },
    async get(realm, alertId) {
      const view = await current(await recordOf(realm, alertId));
      const step = await storage.visitTenant(realm, (db) => selectStep(db, alertId)).catch(() => undefined);
      const rule = ruleOf(view.record.rule);
      return { ...view, step, rule: rule === undefined ? undefined : { id: rule.id, title: rule.title, describe: rule.describe } };
    },
    async acknowledge(realm, alertId, by) {
      const record = await recordOf(realm, alertId);
      const alert = await alerts.acknowledge(realm, alertId, by);
      // The tenant's trail has the change (alerts.ts); the operators' trail says who reached into which tenant.
      await audit.record(operatorRealm, [{ ...operatorEvent('alert.acknowledged', by.actor, { resources: [`Tenant/${realm}`, `Alert/${alertId}`], detail: alert.rule }), requestId: by.requestId, sourceIp: by.sourceIp, status: 200 }]);
      await refreshEscalated(platform, alert);
      return { record: { ...record, state: alert.state }, alert };
    },
    async follow(change) {
      // A join only moves the count and time, which every display re-reads: no write per finding.
      if (change.alert.realm === operatorRealm || (change.kind !== 'acknowledged' && change.kind !== 'resolved' && change.kind !== 'escalated')) return;
      await refreshEscalated(platform, change.alert);
    },
  };
}
