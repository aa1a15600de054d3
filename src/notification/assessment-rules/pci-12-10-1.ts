import { hours } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

// "Immediately": card brands ask for hours, not days; our target for the countdown and alerts.
const defaults = { targetHours: 24 };

/**
 * PCI DSS v4.0 12.10.1: the incident response plan notifies the payment brands and acquirers
 * when a compromise of account data is suspected. Card data sealed under keys that were not
 * exposed is rendered unreadable (PCI DSS 3.5.1), which the brands' own rules weigh: decide.
 */
export const pci12101: NotificationRule<typeof defaults> = {
  id: 'pci.12-10-1',
  regime: 'pci',
  cite: 'PCI DSS v4.0 12.10.1',
  severity: 'critical',
  describe: 'Must the card brands and the acquirer be told?',
  defaults,
  evaluate(facts, _context, config) {
    const deadline = { kind: 'after', ms: hours(config.targetHours), wording: `immediately (our target: ${config.targetHours} hours)` } as const;
    const notify = 'The payment card brands and the acquirer (merchant bank), per the brands’ rules';
    if (facts.classesInClear.includes('payment')) return { notify, deadline, answer: 'yes', reasoning: 'Payment data (class payment) disclosed in clear → a compromise of account data.' };
    if (facts.classesCiphertextOnly.includes('payment')) {
      return { notify, deadline, answer: 'decide', reasoning: 'Payment data exposed only as ciphertext, keys not exposed → rendered unreadable (PCI DSS 3.5.1); whether the brands still want to hear of it is theirs to say: decide.' };
    }
    return { notify, deadline, answer: 'not-applicable', reasoning: 'No payment data (class payment) in scope.' };
  },
};
