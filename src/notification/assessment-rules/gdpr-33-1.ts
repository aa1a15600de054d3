import { exposure, healthInClear, hours, unintelligible } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

const defaults = { hours: 72 };

/** GDPR Art. 33(3): what the notification to the supervisory authority describes at least. */
export const article33Contents = [
  'Art. 33(3)(a): the nature of the breach, the categories and approximate number of data subjects and of personal data records concerned',
  'Art. 33(3)(b): the name and contact details of the data protection officer or other contact point',
  'Art. 33(3)(c): the likely consequences of the breach',
  'Art. 33(3)(d): the measures taken or proposed, including to mitigate its possible adverse effects',
] as const;

/**
 * GDPR Art. 33(1): the controller notifies the supervisory authority within 72 hours of
 * becoming aware, unless the breach is unlikely to result in a risk to people's rights and
 * freedoms. Ciphertext with safe keys is the textbook "unlikely" (EDPB Guidelines 01/2021,
 * example 1.1 on encrypted data); it is still documented (Art. 33(5)).
 */
export const gdpr331: NotificationRule<typeof defaults> = {
  id: 'gdpr.33-1',
  regime: 'gdpr',
  cite: 'GDPR Art. 33(1)',
  severity: 'critical',
  describe: 'Must the supervisory authority be notified?',
  defaults,
  evaluate(facts, context, config) {
    const deadline = { kind: 'after', ms: hours(config.hours), wording: `within ${config.hours} hours of awareness` } as const;
    const notify = context.role === 'processor' ? `The supervisory authority of ${facts.tenantId} (the controller notifies; the platform supplies the facts)` : 'The competent supervisory authority';
    const base = { notify, deadline, contents: article33Contents };
    if (facts.patients === 0 && facts.records === 0) {
      return { ...base, answer: 'no', reasoning: `${exposure(facts)} → no personal data breach to notify; document the incident (Art. 33(5)).` };
    }
    if (unintelligible(facts)) {
      return { ...base, answer: 'no', reasoning: `${exposure(facts)} → unintelligible to whoever holds it, so unlikely to result in a risk to rights and freedoms (EDPB Guidelines 01/2021). Document it (Art. 33(5)); notify if the keys turn out to be exposed.` };
    }
    const special = healthInClear(facts) ? '; health data (Art. 9) involved' : '';
    return { ...base, answer: 'yes', reasoning: `${exposure(facts)}${special} → a risk to rights and freedoms is likely.` };
  },
};
