import { count, days } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

const defaults = { days: 60, threshold: 500 };

/**
 * 45 CFR 164.406(a): prominent media outlets serving a State or jurisdiction are told when a
 * breach involves *more than* 500 residents of it. Residency is read from the patients'
 * addresses; those without one are counted, cautiously, as residents of the largest group.
 */
export const hipaa406: NotificationRule<typeof defaults> = {
  id: 'hipaa.164-406',
  regime: 'hipaa',
  cite: '45 CFR 164.406(a)',
  severity: 'high',
  describe: 'Must prominent media outlets be told (more than 500 residents of one State or jurisdiction)?',
  defaults,
  evaluate(facts, context, config) {
    const deadline = { kind: 'after', ms: days(config.days), wording: `without unreasonable delay, at most ${config.days} calendar days after discovery` } as const;
    const base = { notify: 'Prominent media outlets serving each State or jurisdiction above the threshold (by the covered entity)', deadline };
    const breach = context.prior.get('hipaa.164-402');
    if (breach === 'decide') return { ...base, answer: 'decide', reasoning: 'Follows 164.402, which is still to be decided.' };
    if (breach !== 'yes') return { ...base, answer: 'no', reasoning: 'No breach of unsecured PHI (164.402) → no media notice.' };
    const byJurisdiction = Object.entries(facts.residency?.byJurisdiction ?? {}).sort(([, a], [, b]) => b - a);
    // Without resolved addresses every affected patient's residence is unknown.
    const unknown = facts.residency === undefined ? facts.patients : facts.residency.unknown;
    const over = byJurisdiction.filter(([, n]) => n > config.threshold);
    const listing = byJurisdiction.length === 0 ? 'no addresses known' : byJurisdiction.slice(0, 5).map(([j, n]) => `${j} ${count(n)}`).join(', ');
    if (over.length > 0) {
      return { ...base, notify: `Prominent media outlets serving ${over.map(([j]) => j).join(', ')} (by the covered entity)`, answer: 'yes', reasoning: `Residents per jurisdiction: ${listing} → more than ${count(config.threshold)} in ${over.map(([j]) => j).join(', ')}.` };
    }
    const [largest, most] = byJurisdiction[0] ?? ['one jurisdiction', 0];
    if (most + unknown > config.threshold) {
      return { ...base, answer: 'yes', reasoning: `Residents per jurisdiction: ${listing}; ${count(unknown)} without a known address, counted as residents of ${largest} (the cautious side) → more than ${count(config.threshold)}. Override once their residence is known.` };
    }
    return { ...base, answer: 'no', reasoning: `Residents per jurisdiction: ${listing}${unknown > 0 ? `; ${count(unknown)} without a known address, even all counted in one` : ''} → at most ${count(config.threshold)} in any State or jurisdiction.` };
  },
};
