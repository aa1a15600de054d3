import { forbidden, IdentityError } from './errors.js';
import { hasCapability, type Capability, type Principal } from './permissions.js';

/**
 * Account-security actions (invitations, role changes, second-factor resets, disabling,
 * unlocking, ending sessions, the second-factor policy, the app register) need a person signed
 * in with two factors: an API key is one factor that can be copied, and with it one could
 * strip a person's second factor and take the account over. OWASP ASVS 4.0.3 V4.3.1
 * (administrative interfaces use multi-factor authentication); NIST SP 800-63B §4.2 (AAL2).
 */
/** Whether the caller may make account-security changes: a person signed in with two factors (not through an app). */
export const isTwoFactorPerson = (principal: Principal): boolean => principal.kind === 'person' && principal.secondFactor === true && principal.client === undefined;

export function requireTwoFactorPerson(principal: Principal): void {
  if (principal.kind !== 'person') {
    throw new IdentityError('second-factor-required', 'This changes account security: a person signed in with two factors does it, not an API key or app token (a key is a single factor).', { status: 403, expose: true });
  }
  if (principal.secondFactor !== true || principal.client !== undefined) {
    throw new IdentityError('second-factor-required', 'This changes account security: sign in with your second factor (or enrol one at POST /auth/totp) first.', { status: 403, expose: true });
  }
}

/**
 * The gate of an administrative endpoint (accounts, the app register): the caller's role holds
 * `capability` in this tenant, and for a change the caller is a person with two factors. Every
 * refusal is reported through `denied` first, so the audit trail shows who tried (detection
 * looks for these).
 */
export async function admitAdministrator(principal: Principal, capability: Capability, changes: boolean, denied: (detail: string) => Promise<unknown>): Promise<void> {
  if (!hasCapability(principal.role, capability)) {
    await denied('forbidden');
    throw forbidden(`Your role (${principal.role}) does not allow this (${capability}).`);
  }
  if (!changes) return;
  try {
    requireTwoFactorPerson(principal);
  } catch (error) {
    await denied('second-factor-required');
    throw error;
  }
}
