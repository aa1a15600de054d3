import type { AuditAction, AuditEvent } from '../audit/index.js';

/** How bad, and so whom it reaches and how fast (escalation.ts): NIST SP 800-61r2 §3.2.6 prioritisation. */
export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export const severityRank = (severity: Severity): number => severities.indexOf(severity);
export const higherSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);

/** A rule's thresholds: numbers, switches, words and lists, each overridable in `detection.rules.<id>`. */
export type RuleConfig = Readonly<Record<string, number | boolean | string | readonly string[]>>;

/**
 * An event as the rules see it: an audit event of one realm's chain (`tenantId` is the realm: a
 * tenant, or `operators` for the platform operators' own trail). Ids, codes and counts only —
 * the trail never holds record contents, so neither can a rule or an alert.
 */
export type DetectionEvent = AuditEvent;

/** What a rule reports: one alert's worth, about one subject. */
export interface Finding {
  /**
   * What the alert is about, so that findings about the same thing join one alert: an account
   * (`Account/<id>`), a principal (`apikey:<id>`), a source address, a file path. Never contents.
   */
  readonly subject: string;
  /** One plain-language sentence, ids and counts only (it goes into mail, webhooks and syslog). */
  readonly summary: string;
  /** Overrides the rule's severity for this finding (repeated break-the-glass use escalates). */
  readonly severity?: Severity;
  /** Events that raised it (seq numbers of the realm's chain); default the event being evaluated. */
  readonly evidence?: readonly number[];
}

/** The realm's settings a rule may need (per tenant; alert-settings.ts). */
export interface RealmContext {
  /** The realm: a tenant id, or `operators`. */
  readonly realm: string;
  readonly operators: boolean;
  /** IANA time zone of the tenant (working hours are in it). */
  readonly timeZone: string;
  /** Working hours: days 1 (Monday) … 7, hours as `HH:MM` in the time zone. */
  readonly workingHours: { readonly days: readonly number[]; readonly start: string; readonly end: string };
}

export interface RuleOutcome<S> {
  /** The rule's new state for the event's key; `null` deletes it; absent leaves it as it was. */
  readonly state?: S | null;
  readonly findings?: readonly Finding[];
}

interface RuleBase<C extends RuleConfig> {
  /** Stable, dotted, lower case: `<family>.<what>`; the runbook is docs/runbooks/<id>.md. */
  readonly id: string;
  readonly severity: Severity;
  /** A short name for lists and mail subjects. */
  readonly title: string;
  /** What it detects and why it matters, in plain language (docs and the alert's detail page). */
  readonly describe: string;
  /** Thresholds, with values that make sense for a clinic; `detection.rules.<id>` overrides them. */
  readonly defaults: C;
}

/**
 * A rule over the audit trail: a pure function of one event, the rule's stored state for the
 * event's key (a window, a counter, a baseline — kept in the realm's data set by the engine, so
 * a restart loses nothing and several nodes share it), the thresholds and the realm.
 */
export interface EventRule<S = unknown, C extends RuleConfig = RuleConfig> extends RuleBase<C> {
  readonly kind: 'event';
  /** Which realms it watches: the tenants' trails, the operators' trail, or both. */
  readonly realms: 'tenants' | 'operators' | 'all';
  /** The actions it looks at; the engine hands it no other events. */
  readonly actions: readonly AuditAction[];
  /** The key of the state this event reads and updates; undefined: the rule keeps no state for it. */
  key?(event: DetectionEvent, config: C): string | undefined;
  evaluate(event: DetectionEvent, state: S | undefined, config: C, realm: RealmContext): RuleOutcome<S>;
}

/**
 * A rule over a reading the engine takes (probes.ts: backup age, disk space, certificate expiry,
 * replication, file integrity): pure, like an event rule; the probe does the I/O. Platform-wide.
 */
export interface ProbeRule<R = unknown, C extends RuleConfig = RuleConfig> extends RuleBase<C> {
  readonly kind: 'probe';
  evaluate(reading: R, config: C, now: number): readonly Finding[];
}

export type Rule = EventRule<any, any> | ProbeRule<any, any>;
