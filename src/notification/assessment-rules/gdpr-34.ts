import { exposure, healthInClear, plural, unintelligible } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

/**
 * GDPR Art. 34(1): the data subjects are told without undue delay when the breach is likely to
 * result in a high risk; not when the data was unintelligible to anyone unauthorised, such as
 * encrypted with keys that were not compromised (Art. 34(3)(a)).
 */
export const gdpr34: NotificationRule<Record<string, never>> = {
  id: 'gdpr.34-1',
  regime: 'gdpr',
  cite: 'GDPR Art. 34(1)',
  severity: 'high',
  describe: 'Must the affected patients be told?',
  defaults: {},
  evaluate(facts) {
    const deadline = { kind: 'wording', wording: 'without undue delay' } as const;
    const notify = `The ${plural(facts.patients, 'affected patient')} (by the controller)`;
    const contents = [
      'Art. 34(2): in clear and plain language, the nature of the breach',
      'Art. 34(2) with 33(3)(b)–(d): the contact point, the likely consequences, the measures taken or proposed',
    ];
    const base = { notify, deadline, contents };
    if (facts.patients === 0) return { ...base, answer: 'no', reasoning: `${exposure(facts)} → no data subject to tell.` };
    if (unintelligible(facts)) {
      return { ...base, answer: 'no', reasoning: `${exposure(facts)} → Art. 34(3)(a) applies: the data was encrypted and unintelligible to anyone not authorised to access it, the keys were not compromised. No communication to the patients is required.` };
    }
    if (healthInClear(facts) || facts.classesInClear.includes('payment')) {
      const what = [healthInClear(facts) ? 'health data (Art. 9)' : '', facts.classesInClear.includes('payment') ? 'payment data' : ''].filter(Boolean).join(' and ');
      return { ...base, answer: 'yes', reasoning: `${exposure(facts)}; ${what} in clear → a high risk to the patients is likely.` };
    }
    // Being a patient of a clinic can itself reveal health (Art. 4(15)): a person weighs it.
    return { ...base, answer: 'decide', reasoning: `${exposure(facts)}; no health or payment data in clear → whether the risk is high depends on what the suspect can do with it and on what being this clinic’s patient reveals (Art. 4(15); EDPB Guidelines 9/2022 §§ 97–106): decide and record why.` };
  },
};
