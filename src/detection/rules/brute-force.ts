import type { EventRule } from '../types.js';
import { advance, crossed, type Window } from './window.js';

// A person who forgot a password tries three or four times, then asks for a reset; the sign-in
// throttle lets five failures through freely and slows down the rest (1 s, 2 s, 4 s …), so ten
// failed or throttled attempts at one account within 15 minutes is no typo.
const defaults = { failures: 10, windowMinutes: 15 };

/**
 * Brute force on one account: many failed sign-ins (password or second factor) against the same
 * account in a short time — attempts the throttle refused count too, so an attacker who keeps
 * knocking at it is seen. The throttle slows guessing down; the alert makes a person look.
 * OWASP ASVS 5 V6.3.1 (anti-automation), NIST SP 800-63B §5.2.2 (rate limiting).
 */
export const bruteForce: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'auth.brute-force',
  severity: 'high',
  title: 'Brute force on an account',
  describe: 'Many failed sign-ins (password or second factor, including attempts the throttle refused) against one account within a short time: someone may be guessing its password or second factor.',
  defaults,
  realms: 'all',
  actions: ['auth.login_failed', 'auth.mfa_failed', 'auth.login_throttled'],
  // Failures against an account that exists name it; an address no account has is a spray's
  // concern (auth.password-spraying), not an account's.
  key: (event) => event.resources.find((r) => r.startsWith('Account/')),
  evaluate(event, state, config) {
    const account = event.resources.find((r) => r.startsWith('Account/'));
    // No account, no window (the engine keeps no state without a key): at a threshold of 1 such
    // a failure would otherwise be a finding about nobody.
    if (account === undefined) return {};
    const advanced = advance(state, event, config.windowMinutes);
    const { window, evidence } = crossed(advanced, advanced.count, config.failures, event.seq);
    return {
      state: window,
      ...(evidence === undefined ? {} : { findings: [{ subject: account, summary: `${window.count} failed sign-ins against ${account} within ${config.windowMinutes} minutes`, evidence }] }),
    };
  },
};
