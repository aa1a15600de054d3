import { exposure, hours } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

// The article says "without undue delay"; our target, for the countdown and its alerts. The
// controller's own 72 hours run from its awareness, which this notice starts (EDPB Guidelines
// 9/2022 §44): a day leaves the clinic most of them.
const defaults = { targetHours: 24 };

/** GDPR Art. 33(2): the processor notifies the controller without undue delay after becoming aware. */
export const gdpr332: NotificationRule<typeof defaults> = {
  id: 'gdpr.33-2',
  regime: 'gdpr',
  cite: 'GDPR Art. 33(2)',
  severity: 'high',
  describe: 'Must the platform (as processor) tell the clinic (the controller)?',
  defaults,
  evaluate(facts, context, config) {
    const deadline = { kind: 'after', ms: hours(config.targetHours), wording: `without undue delay (our target: ${config.targetHours} hours)` } as const;
    const notify = `The controller: ${facts.tenantId}'s administrators and security contact`;
    if (context.role === 'controller') {
      return { answer: 'not-applicable', reasoning: 'The platform is configured as the controller itself (notification.role): there is no controller to inform.', notify, deadline };
    }
    if (facts.patients === 0 && facts.records === 0 && facts.attempts === 0 && facts.changes === 0) {
      return { answer: 'no', reasoning: `Nothing of ${facts.tenantId} was reached or attempted.`, notify, deadline };
    }
    // Every breach at the processor is the controller's to assess, even one it will find harmless.
    return { answer: 'yes', reasoning: `${exposure(facts)} → the processor informs the controller of any personal data breach, harmless or not; the controller assesses the risk.`, notify, deadline };
  },
};
