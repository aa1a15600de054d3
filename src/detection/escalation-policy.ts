import { withinQuietHours, type AlertSettings } from './alert-settings.js';
import type { EscalationStep } from './escalation-store.js';
import { severityRank, type Severity } from './types.js';

/**
 * Who hears of an alert, in order (NIST SP 800-61r2 §2.4.3 and §3.2.7: a defined escalation
 * path with contacts and times): the tenant's administrators, then its security contact, then
 * the platform operators. Platform alerts (the operators' realm) go to the operators at once.
 */
export const levels = { admins: 1, securityContact: 2, operators: 3 } as const;
export type Level = (typeof levels)[keyof typeof levels];

/** Config `detection.escalation`. */
export interface EscalationPolicy {
  /** Minutes without acknowledgement before the next level hears of it, per severity; 0: never escalates. */
  readonly minutes: Readonly<Record<Severity, number>>;
  /** The least severity that is mailed at all; below it an alert is for the console only. */
  readonly mailFrom: Severity;
}

/** What is due for one open alert now. */
export type Plan =
  /** Mail to every level from `from` to `to`: the next step, or everyone reached so far again (the alert grew more severe). */
  | { readonly kind: 'notify'; readonly from: Level; readonly to: Level }
  /** Below the mail threshold: recorded, never mailed, never escalated (unless it grows more severe). */
  | { readonly kind: 'console' }
  /** Quiet hours: a non-critical alert's mail waits until they end. */
  | { readonly kind: 'hold' }
  /** Nothing due (already at the last level, or not yet its time). */
  | { readonly kind: 'none' };

export const firstLevel = (operators: boolean): Level => (operators ? levels.operators : levels.admins);

/**
 * The next step of an alert at `now`, given the step it reached (undefined: none yet). Pure;
 * escalation.ts does the I/O. A critical alert is never held by quiet hours (they exist so
 * that routine findings do not wake people, not to delay an incident: NIST SP 800-61r2 §3.2.7).
 */
export function planStep(input: { severity: Severity; step: EscalationStep | undefined; now: number; operators: boolean; settings: AlertSettings; policy: EscalationPolicy }): Plan {
  const { severity, step, now, operators, settings, policy } = input;
  const first = firstLevel(operators);
  const mailed = severityRank(severity) >= severityRank(policy.mailFrom);
  const grew = step !== undefined && severityRank(severity) > severityRank(step.severity);
  let plan: Plan;
  if (!mailed) plan = step === undefined || grew ? { kind: 'console' } : { kind: 'none' };
  else if (step === undefined || step.level < first) plan = { kind: 'notify', from: first, to: first };
  else if (grew) plan = { kind: 'notify', from: first, to: Math.max(first, step.level) as Level };
  else if (step.nextAt !== undefined && step.nextAt <= now && step.level < levels.operators) plan = { kind: 'notify', from: (step.level + 1) as Level, to: (step.level + 1) as Level };
  else plan = { kind: 'none' };
  if (plan.kind === 'notify' && severity !== 'critical' && withinQuietHours(now, settings)) return { kind: 'hold' };
  return plan;
}

/** When the step after `level` is due, if there is one: never after the operators, never for a severity set to 0. */
export function nextStepAt(severity: Severity, level: number, now: number, policy: EscalationPolicy): number | undefined {
  const minutes = policy.minutes[severity];
  return level >= levels.operators || minutes <= 0 ? undefined : now + minutes * 60_000;
}
