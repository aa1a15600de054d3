import type { AlertChange } from './alerts.js';
import { alertPath, runbookPath } from './links.js';
import type { Alert } from './store.js';
import type { Severity } from './types.js';

/**
 * What leaves Tresor about an alert, by webhook and by syslog: ids, the rule, counts, times and
 * the finding's sentence (ids and counts only, types.ts `Finding`) — never record contents,
 * never a credential. The same object for every target, so a SIEM and a webhook receiver agree.
 */
export interface AlertPayload {
  /** The alert's id (stable across its changes). */
  readonly id: string;
  readonly realm: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  readonly subject: string;
  readonly summary: string;
  readonly state: Alert['state'];
  readonly count: number;
  /** ISO 8601 (UTC), as the alerts API names them. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** What changed: raised, joined, escalated, acknowledged, resolved. */
  readonly kind: AlertChange['kind'];
  /** The alert's page in the console. */
  readonly url: string;
  /** The rule's runbook: what it means and what to do. */
  readonly runbook: string;
}

/** The console page of an alert: the clinic console for a tenant's, the operator console for the platform's. */
export function alertLink(publicUrl: string, alert: Pick<Alert, 'id' | 'realm'>, operatorRealm: string): string {
  return `${publicUrl.replace(/\/$/, '')}${alertPath(alert, alert.realm === operatorRealm)}`;
}

/** The rule's runbook page — where the alert mail links too (alert-message.ts). */
export function runbookLink(publicUrl: string, rule: string): string {
  return `${publicUrl.replace(/\/$/, '')}${runbookPath(rule)}`;
}

/** The fields every outward form of an alert shares (the API's JSON, webhooks, syslog). */
export function alertFields(alert: Alert) {
  return {
    id: alert.id,
    realm: alert.realm,
    rule: alert.rule,
    severity: alert.severity,
    title: alert.title,
    subject: alert.subject,
    summary: alert.summary,
    state: alert.state,
    count: alert.count,
    firstSeen: new Date(alert.firstAt).toISOString(),
    lastSeen: new Date(alert.lastAt).toISOString(),
  };
}

export function alertPayload(change: AlertChange, links: { url: string; runbook: string }): AlertPayload {
  return { ...alertFields(change.alert), kind: change.kind, url: links.url, runbook: links.runbook };
}

/**
 * One version of an alert per change that matters to a receiver: its state, count and
 * severity. A change enqueued twice (by the listener and by the scan for missed changes) has
 * one version, and so is one delivery.
 */
export const alertVersion = (alert: Pick<Alert, 'state' | 'count' | 'severity'>): string => `${alert.state}/${alert.count}/${alert.severity}`;

/** What the scan for missed changes calls a change it finds (it cannot tell an escalation from a join). */
export function kindOfState(alert: Pick<Alert, 'state' | 'count'>): AlertChange['kind'] {
  if (alert.state === 'resolved') return 'resolved';
  if (alert.state === 'acknowledged') return 'acknowledged';
  return alert.count === 1 ? 'raised' : 'joined';
}
