import { localTime, withinWorkingHours } from '../alert-settings.js';
import type { EventRule } from '../types.js';
import { principalKey, principalOf, recordAccesses } from './principal.js';

/**
 * People only, by default: staff roles. Service keys and apps' service tokens run at night by
 * design (backups of the practice system, lab imports), and patients read their own records
 * whenever they like. A tenant with night shifts sets its working hours (console settings) or
 * narrows `roles`.
 */
const defaults = {
  roles: ['tenant-admin', 'clinician', 'front-desk', 'billing', 'auditor'] as readonly string[],
};

export interface OffHoursState {
  /** The off-hours stretch last alerted, as the local date the stretch began. */
  readonly stretch: string;
}

/**
 * The off-hours stretch an instant belongs to: the local date of `at` minus the working day's
 * start, so that 20:00 on Monday and 03:00 on Tuesday (start 07:00) are both Monday's night.
 */
export function stretchOf(at: number, timeZone: string, start: string): string {
  const [h, m] = start.split(':').map(Number) as [number, number];
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(at - (h * 60 + m) * 60_000));
}

/**
 * Record access outside the tenant's working hours (its time zone, alert settings): alone a weak
 * sign (on-call duty exists), so low; together with a mass read it tells the story. One alert per
 * principal per night: the first access of the stretch raises it, the rest of that night is in
 * the audit trail (NIST SP 800-92 §4.3: time-of-day baselines).
 */
export const offHours: EventRule<OffHoursState, typeof defaults> = {
  kind: 'event',
  id: 'access.off-hours',
  severity: 'low',
  title: 'Records read outside working hours',
  describe: "A member of staff read patients' records outside the clinic's working hours. Often on-call duty; worth a look when nobody was on call.",
  defaults,
  realms: 'tenants',
  actions: [...recordAccesses],
  key: (event, config) => (event.outcome === 'success' && config.roles.includes(event.actor.role) ? principalKey(event) : undefined),
  evaluate(event, state, config, realm) {
    if (event.outcome !== 'success' || !config.roles.includes(event.actor.role) || withinWorkingHours(event.at, realm)) return {};
    const stretch = stretchOf(event.at, realm.timeZone, realm.workingHours.start);
    if (state?.stretch === stretch) return {};
    const { name } = principalOf(event);
    const { time } = localTime(event.at, realm.timeZone);
    return { state: { stretch }, findings: [{ subject: name, summary: `${name} (${event.actor.role}) read records outside working hours, first at ${time} ${realm.timeZone} (off-hours beginning ${stretch})` }] };
  },
};
