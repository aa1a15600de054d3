import { operatorEvent, selectEventsBySeq, type Actor, type Audit, type StoredEvent } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlExecutor, Storage } from '../platform/db/index.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import { parseAlertSettings, readAlertSettings, type AlertSettings } from './alert-settings.js';
import type { Raised } from './engine.js';
import { DetectionError } from './errors.js';
import { alertStates, changeAlertState, countUnresolved, evidencePerAlert, insertAlert, joinAlert, linkEvents, saveSettings, selectAlert, selectAlerts, selectEvidence, selectJoinable, type Alert, type AlertFilter, type AlertState } from './store.js';
import { higherSeverity, severities, type Finding, type Rule, type Severity } from './types.js';

/** Who changes an alert, for its record and the audit event (an API call's or a page's request). */
export interface AlertActor {
  readonly actor: Actor;
  readonly requestId: string;
  readonly sourceIp: string;
}

/** What happened to an alert, for delivery (mail, webhooks, syslog) and escalation. */
export interface AlertChange {
  /** `raised`: a new alert; `escalated`: a finding raised its severity; `joined`: one more finding. */
  readonly kind: 'raised' | 'escalated' | 'joined' | 'acknowledged' | 'resolved';
  readonly alert: Alert;
}

export interface AlertDetail {
  readonly alert: Alert;
  readonly rule: Pick<Rule, 'id' | 'title' | 'describe' | 'severity'> | undefined;
  /** The events that raised it (the first 100), oldest first; ids and codes only. */
  readonly events: readonly StoredEvent[];
}

export interface Alerts {
  /** Every rule (detection/rules), for lists and filters. */
  readonly rules: readonly Rule[];
  /** The engine's findings, stored inside its transaction: joined to an alert of the same rule and subject, or a new one. */
  store(tx: SqlExecutor, raised: readonly Raised[]): Promise<void>;
  /** Changes stored by another thread (the detection worker), durable already: told to this thread's listeners. */
  relay(changes: readonly AlertChange[]): void;
  /** A finding of a probe (file integrity, backups, disk, certificates), stored now. */
  raise(realm: string, ruleId: string, finding: Finding): Promise<Alert>;
  list(realm: string, filter: Partial<AlertFilter>): Promise<Alert[]>;
  get(realm: string, id: string): Promise<AlertDetail>;
  /** Unresolved alerts per severity. */
  counts(realm: string): Promise<Record<Severity, number>>;
  /** open → acknowledged; audited `alert.acknowledged`. 409 `alert-state-conflict` from any other state. */
  acknowledge(realm: string, id: string, by: AlertActor): Promise<Alert>;
  /** open or acknowledged → resolved, with a note (required, ≤ 2,000 characters); audited `alert.resolved`. */
  resolve(realm: string, id: string, by: AlertActor, note: string): Promise<Alert>;
  settings(realm: string): Promise<AlertSettings>;
  /** Replaces the realm's alert settings (validated); audited `alert.settings_changed`. */
  saveSettings(realm: string, input: unknown, by: AlertActor): Promise<AlertSettings>;
  /** Calls `listener` after each change is durable; returns the unsubscribe. */
  onChange(listener: (change: AlertChange) => void): () => void;
}

export interface AlertsDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly rules: readonly Rule[];
  /** Findings of one rule about one subject join the unresolved alert that saw one within this time. */
  readonly dedupMs: number;
}

const alertIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const maxNote = 2000;

const notFound = () => new DetectionError('alert-not-found', 'No such alert.', { status: 404 });

// Findings of one rule about one subject, close in time: stored as one join (a brute force of
// hundreds of attempts in a batch costs one lookup and one update, not hundreds).
interface Group {
  readonly rule: Pick<Rule, 'id' | 'title' | 'severity'>;
  readonly subject: string;
  readonly firstAt: number;
  lastAt: number;
  severity: Severity;
  summary: string;
  count: number;
  readonly evidence: number[];
}
function group(dedupMs: number, raised: ReadonlyArray<{ rule: Pick<Rule, 'id' | 'title' | 'severity'>; finding: Finding; at: number }>): Group[] {
  const groups: Group[] = [];
  // Per rule, per subject: no key string built per finding (a busy batch has hundreds).
  const open = new Map<string, Map<string, Group>>();
  for (const { rule, finding, at } of raised) {
    let bySubject = open.get(rule.id);
    if (bySubject === undefined) open.set(rule.id, (bySubject = new Map()));
    const severity = finding.severity ?? rule.severity;
    const current = bySubject.get(finding.subject);
    if (current !== undefined && at - current.firstAt < dedupMs) {
      current.lastAt = Math.max(current.lastAt, at);
      current.severity = higherSeverity(current.severity, severity);
      current.summary = finding.summary;
      current.count += 1;
      if (current.evidence.length < evidencePerAlert) current.evidence.push(...(finding.evidence ?? []));
      continue;
    }
    const fresh: Group = { rule, subject: finding.subject, firstAt: at, lastAt: at, severity, summary: finding.summary, count: 1, evidence: [...(finding.evidence ?? [])] };
    bySubject.set(finding.subject, fresh);
    groups.push(fresh);
  }
  return groups;
}

async function storeGroup(tx: SqlExecutor, realm: string, g: Group, dedupMs: number): Promise<AlertChange> {
  const found = await selectJoinable(tx, realm, g.rule.id, g.subject, g.firstAt - dedupMs);
  if (found !== undefined) {
    const joinable = found.alert;
    const raisedTo = higherSeverity(joinable.severity, g.severity);
    const lastAt = Math.max(g.lastAt, joinable.lastAt);
    await joinAlert(tx, joinable.id, { severity: raisedTo, summary: g.summary, count: g.count, at: lastAt });
    await linkEvents(tx, joinable.id, g.evidence, found.linked);
    const alert: Alert = { ...joinable, severity: raisedTo, summary: g.summary, count: joinable.count + g.count, lastAt };
    return { kind: raisedTo !== joinable.severity ? 'escalated' : 'joined', alert };
  }
  const alert: Alert = { id: timeOrderedId(g.firstAt), realm, rule: g.rule.id, severity: g.severity, title: g.rule.title, subject: g.subject, summary: g.summary, state: 'open', count: g.count, firstAt: g.firstAt, lastAt: g.lastAt };
  await insertAlert(tx, alert);
  await linkEvents(tx, alert.id, g.evidence, 0);
  return { kind: 'raised', alert };
}

/**
 * The engine's findings, stored inside its transaction: joined to an alert of the same rule and
 * subject, or a new one. Resolves with the changes, for the caller to announce after the commit
 * (the detection worker hands them to the server's thread, alerts.relay).
 */
export async function storeFindings(tx: SqlExecutor, raised: readonly Raised[], dedupMs: number): Promise<AlertChange[]> {
  const changes: AlertChange[] = [];
  const realms = [...new Set(raised.map((r) => r.realm))];
  for (const realm of realms) for (const g of group(dedupMs, raised.filter((r) => r.realm === realm))) changes.push(await storeGroup(tx, realm, g, dedupMs));
  return changes;
}

/**
 * Alerts (SPEC L4): stored in the realm's data set with their state (open → acknowledged →
 * resolved, who and when), deduplicated per rule, subject and time (one alert with a count,
 * NIST SP 800-92 §4.3 event correlation), linked to the events that raised them. Every change a
 * person makes is an event of the realm's audit trail.
 */
export function createAlerts({ storage, clock, audit, rules, dedupMs }: AlertsDeps): Alerts {
  const listeners = new Set<(change: AlertChange) => void>();
  const emit = (change: AlertChange) => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch {
        // A failing listener (delivery) must not undo a stored alert nor stop the others.
      }
    }
  };
  const ruleOf = (id: string) => rules.find((r) => r.id === id);

  const recorded = (action: 'alert.acknowledged' | 'alert.resolved' | 'alert.settings_changed', by: AlertActor, resources: string[], detail: string) => ({ ...operatorEvent(action, by.actor, { resources, detail }), requestId: by.requestId, sourceIp: by.sourceIp, status: 200 });

  async function change(realm: string, id: string, to: 'acknowledged' | 'resolved', by: AlertActor, note?: string): Promise<Alert> {
    if (!alertIdPattern.test(id)) throw notFound();
    const db = await storage.tenant(realm);
    const at = clock.now().getTime();
    const alert = await db.transaction(async (tx) => {
      const before = await selectAlert(tx, realm, id);
      if (before === undefined) throw notFound();
      if (!(await changeAlertState(tx, id, to, by.actor.id, at, note))) {
        throw new DetectionError('alert-state-conflict', `The alert is ${before.state}; it cannot be ${to} now.`, { status: 409 });
      }
      await audit.appendIn(tx, realm, [recorded(to === 'acknowledged' ? 'alert.acknowledged' : 'alert.resolved', by, [`Alert/${id}`], before.rule)]);
      return (await selectAlert(tx, realm, id)) as Alert;
    });
    emit({ kind: to, alert });
    return alert;
  }

  return {
    rules,
    async store(tx, raised) {
      const changes = await storeFindings(tx, raised, dedupMs);
      tx.afterCommit(() => {
        for (const c of changes) emit(c);
      });
    },
    relay(changes) {
      for (const c of changes) emit(c);
    },
    async raise(realm, ruleId, finding) {
      const rule = ruleOf(ruleId);
      if (rule === undefined) throw new DetectionError('unknown-rule', `no rule ${ruleId}`, { status: 500 });
      const db = await storage.tenant(realm);
      const at = clock.now().getTime();
      const [only] = group(dedupMs, [{ rule, finding, at }]);
      const result = await db.transaction((tx) => storeGroup(tx, realm, only as Group, dedupMs));
      emit(result);
      return result.alert;
    },
    async list(realm, filter) {
      if (filter.state !== undefined && !alertStates.includes(filter.state as AlertState)) throw new DetectionError('alert-invalid', `state: one of ${alertStates.join(', ')}`, { status: 400 });
      if (filter.severity !== undefined && !severities.includes(filter.severity)) throw new DetectionError('alert-invalid', `severity: one of ${severities.join(', ')}`, { status: 400 });
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
      return selectAlerts(await storage.tenant(realm), realm, { ...filter, limit });
    },
    async get(realm, id) {
      if (!alertIdPattern.test(id)) throw notFound();
      const db = await storage.tenant(realm);
      const alert = await selectAlert(db, realm, id);
      if (alert === undefined) throw notFound();
      const events = await selectEventsBySeq(db, realm, await selectEvidence(db, id));
      const rule = ruleOf(alert.rule);
      return { alert, rule: rule === undefined ? undefined : { id: rule.id, title: rule.title, describe: rule.describe, severity: rule.severity }, events };
    },
    async counts(realm) {
      return countUnresolved(await storage.tenant(realm));
    },
    acknowledge: (realm, id, by) => change(realm, id, 'acknowledged', by),
    resolve(realm, id, by, note) {
      const text = note.trim();
      if (text.length === 0 || text.length > maxNote) return Promise.reject(new DetectionError('alert-invalid', `A resolution note is required (at most ${maxNote} characters): what was found and done.`, { status: 400 }));
      return change(realm, id, 'resolved', by, text);
    },
    async settings(realm) {
      return readAlertSettings(await storage.tenant(realm));
    },
    async saveSettings(realm, input, by) {
      const settings = parseAlertSettings(input);
      const db = await storage.tenant(realm);
      await db.transaction(async (tx) => {
        await saveSettings(tx, settings);
        await audit.appendIn(tx, realm, [recorded('alert.settings_changed', by, [], `time zone ${settings.timeZone}; working hours ${settings.workingHours.start}-${settings.workingHours.end}`)]);
      });
      return settings;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
