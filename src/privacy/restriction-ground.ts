import type { RequestType } from './requests-types.js';
import type { RestrictionGround } from './restrictions.js';

/**
 * The ground of GDPR Art. 18(1) for a restriction the patient asked for, from their other open
 * requests: while a rectification of theirs is open, the accuracy is contested — (a), for the
 * time the controller needs to verify it; otherwise the restriction is taken to stand while
 * their objection is weighed — (d). Grounds (b) and (c) depend on facts only staff can judge:
 * staff restrict with those in the console's "Restrictions" section instead.
 */
export function restrictionGroundFor(openTypes: readonly RequestType[]): RestrictionGround {
  return openTypes.includes('rectification') ? 'accuracy-contested' : 'objection-pending';
}
