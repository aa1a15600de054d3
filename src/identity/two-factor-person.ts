import { IdentityError } from './errors.js';
import type { Principal } from './permissions.js';

/**
 * Account-security actions (invitations, role changes, second-factor resets, disabling,
 * unlocking, ending sessions, the second-factor policy, the app register) need a person signed
 * in with two factors: an API key is one factor that can be copied, and with it one could
 * strip a person's second factor and take the account over. OWASP ASVS 4.0.3 V4.3.1
 * (administrative interfaces use multi-factor authentication); NIST SP 800-63B §4.2 (AAL2).
 */
export function requireTwoFactorPerson(principal: Principal): void {
  if (principal.kind !== 'person') {
    throw new IdentityError('second-factor-required', 'This changes account security: a person signed in with two factors does it, not an API key or app token (a key is a single factor).', { status: 403, expose: true });
  }
  if (principal.secondFactor !== true || principal.client !== undefined) {
    throw new IdentityError('second-factor-required', 'This changes account security: sign in with your second factor (or enrol one at POST /auth/totp) first.', { status: 403, expose: true });
  }
}
