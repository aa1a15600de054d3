import { days, exposure } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

const defaults = { days: 60 };

/** 45 CFR 164.410: a business associate tells the covered entity without unreasonable delay, at most 60 days after discovery, identifying each individual (164.410(c)). */
export const hipaa410: NotificationRule<typeof defaults> = {
  id: 'hipaa.164-410',
  regime: 'hipaa',
  cite: '45 CFR 164.410(a), (b)',
  severity: 'high',
  describe: 'Must the platform (as business associate) tell the clinic (the covered entity)?',
  defaults,
  evaluate(facts, context, config) {
    const deadline = { kind: 'after', ms: days(config.days), wording: `without unreasonable delay, at most ${config.days} calendar days after discovery` } as const;
    const notify = `The covered entity: ${facts.tenantId}'s administrators and security contact`;
    const contents = ['164.410(c)(1): the identification of each individual affected', '164.410(c)(2): what the covered entity needs for its notices under 164.404(c)'];
    const base = { notify, deadline, contents };
    if (context.role === 'controller') return { ...base, answer: 'not-applicable', reasoning: 'The platform is configured as the covered entity itself (notification.role): no business associate notice.' };
    const breach = context.prior.get('hipaa.164-402');
    if (breach === 'decide') return { ...base, answer: 'decide', reasoning: 'Follows 164.402, which is still to be decided.' };
    if (breach !== 'yes') return { ...base, answer: 'no', reasoning: 'No breach of unsecured PHI (164.402) → no notice is owed under 164.410 (a business associate agreement may still ask for one).' };
    return { ...base, answer: 'yes', reasoning: `${exposure(facts)} → a breach of unsecured PHI discovered by the business associate.` };
  },
};
