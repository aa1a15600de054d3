import { count, days } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

const defaults = { days: 60, threshold: 500 };

/**
 * 45 CFR 164.408: the Secretary (HHS) is told of every breach of unsecured PHI — for 500 or more
 * individuals contemporaneously with the individual notices (so at most 60 days), for fewer in
 * the annual log, at most 60 days after the end of the calendar year of discovery.
 */
export const hipaa408: NotificationRule<typeof defaults> = {
  id: 'hipaa.164-408',
  regime: 'hipaa',
  cite: '45 CFR 164.408(b), (c)',
  severity: 'high',
  describe: 'Must the Secretary of HHS be notified, and when?',
  defaults,
  evaluate(facts, context, config) {
    const notify = 'The Secretary of HHS, through the breach portal (by the covered entity)';
    const breach = context.prior.get('hipaa.164-402');
    const now = { kind: 'after', ms: days(config.days), wording: `contemporaneously with the individual notices, at most ${config.days} days after discovery` } as const;
    if (breach === 'decide') return { notify, deadline: now, answer: 'decide', reasoning: 'Follows 164.402, which is still to be decided.' };
    if (breach !== 'yes') return { notify, deadline: now, answer: 'no', reasoning: 'No breach of unsecured PHI (164.402) → nothing to report to HHS.' };
    if (facts.patients >= config.threshold) {
      return { notify, deadline: now, answer: 'yes', reasoning: `${count(facts.patients)} individuals affected (${count(config.threshold)} or more) → HHS is told now, with the individual notices (164.408(b)).` };
    }
    // The calendar year of discovery in UTC: the end of the year in the covered entity's own
    // time zone is at most a day later.
    const year = new Date(context.awareAt).getUTCFullYear();
    const at = Date.UTC(year + 1, 0, 1) + days(config.days) - 1;
    return { notify, deadline: { kind: 'at', at, wording: `in the annual log, at most ${config.days} days after the end of ${year}` }, answer: 'yes', reasoning: `${count(facts.patients)} individuals affected (fewer than ${count(config.threshold)}) → logged and reported to HHS for the calendar year (164.408(c)).` };
  },
};
