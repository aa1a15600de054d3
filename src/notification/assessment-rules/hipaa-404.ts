import { days, exposure, plural } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

const defaults = { days: 60 };

/** 45 CFR 164.404: the covered entity notifies each individual without unreasonable delay, at most 60 calendar days after discovery. */
export const hipaa404: NotificationRule<typeof defaults> = {
  id: 'hipaa.164-404',
  regime: 'hipaa',
  cite: '45 CFR 164.404(a), (b)',
  severity: 'high',
  describe: 'Must each affected individual be notified?',
  defaults,
  evaluate(facts, context, config) {
    const deadline = { kind: 'after', ms: days(config.days), wording: `without unreasonable delay, at most ${config.days} calendar days after discovery` } as const;
    const notify = `The ${plural(facts.patients, 'affected individual')}, by first-class mail or e-mail if agreed (164.404(d)) — by the covered entity`;
    const contents = [
      '164.404(c)(1)(A): what happened, the date of the breach and of its discovery',
      '164.404(c)(1)(B): the types of unsecured PHI involved',
      '164.404(c)(1)(C): the steps individuals should take to protect themselves',
      '164.404(c)(1)(D): what the covered entity is doing to investigate, mitigate and protect',
      '164.404(c)(1)(E): contact procedures, including a toll-free number, e-mail, web site or postal address',
    ];
    const base = { notify, deadline, contents };
    const breach = context.prior.get('hipaa.164-402');
    if (breach === 'decide') return { ...base, answer: 'decide', reasoning: 'Follows 164.402, which is still to be decided.' };
    if (breach !== 'yes') return { ...base, answer: 'no', reasoning: 'No breach of unsecured PHI (164.402) → no notice to individuals.' };
    return { ...base, answer: 'yes', reasoning: `${exposure(facts)} → a breach of unsecured PHI: every affected individual is notified.` };
  },
};
