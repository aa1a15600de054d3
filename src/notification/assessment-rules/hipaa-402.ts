import { exposure, unintelligible } from '../assessment-facts.js';
import type { NotificationRule } from '../assessment-types.js';

/**
 * 45 CFR 164.402: a breach is an impermissible acquisition, access, use or disclosure of
 * *unsecured* PHI, presumed unless a risk assessment of four factors shows a low probability that
 * it was compromised. PHI encrypted as HHS's guidance describes (NIST SP 800-111 at rest), with
 * the keys not exposed, is not unsecured: no notification duty arises ("Guidance to Render
 * Unsecured PHI Unusable, Unreadable, or Indecipherable", 74 FR 42740, 42742, 2009).
 */
export const hipaa402: NotificationRule<Record<string, never>> = {
  id: 'hipaa.164-402',
  regime: 'hipaa',
  cite: '45 CFR 164.402',
  severity: 'high',
  describe: 'Is this a breach of unsecured protected health information?',
  defaults: {},
  evaluate(facts) {
    const deadline = { kind: 'wording', wording: 'decides whether 164.404–164.410 apply' } as const;
    const notify = 'Nobody by itself: it decides the duties below';
    const contents = [
      '164.402(2)(i): the nature and extent of the PHI involved, the identifiers, the likelihood of re-identification',
      '164.402(2)(ii): the unauthorised person who used it or to whom it was disclosed',
      '164.402(2)(iii): whether the PHI was actually acquired or viewed',
      '164.402(2)(iv): the extent to which the risk has been mitigated',
    ];
    const base = { notify, deadline, contents };
    if (facts.patients === 0) return { ...base, answer: 'no', reasoning: `${exposure(facts)} → no PHI was used or disclosed.` };
    if (unintelligible(facts)) {
      return { ...base, answer: 'no', reasoning: `${exposure(facts)} → encryption safe harbour: the PHI was encrypted (AES-256-GCM, keys held apart) per HHS guidance (74 FR 42740) and the keys were not exposed, so it is not unsecured PHI; no notification under 164.404–164.410.` };
    }
    return { ...base, answer: 'yes', reasoning: `${exposure(facts)} → presumed a breach of unsecured PHI (164.402(2)) unless a documented four-factor risk assessment shows a low probability of compromise; override with that assessment as the reason.` };
  },
};
