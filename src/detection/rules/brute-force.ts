import type { EventRule } from '../types.js';
import { advance, crossed, type Window } from './window.js';

const defaults = { failures: 10, windowMinutes: 15 };

/**
 * Brute force on one account: many failed sign-ins (password or second factor) against the same
 * account in a short time. The sign-in throttle slows this down; the alert makes a person look.
 * OWASP ASVS 5 V6.3.1 (anti-automation), NIST SP 800-63B §5.2.2 (rate limiting).
 */
export const bruteForce: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'auth.brute-force',
  severity: 'high',
  title: 'Brute force on an account',
  describe: 'Many failed sign-ins against one account within a short time: someone may be guessing its password or second factor.',
  defaults,
  realms: 'all',
  actions: ['auth.login_failed', 'auth.mfa_failed'],
  // Failures against an account that exists name it; an unknown address names nothing to count.
  key: (event) => event.resources.find((r) => r.startsWith('Account/')),
  evaluate(event, state, config) {
    const account = event.resources.find((r) => r.startsWith('Account/')) as string;
    const { window, evidence } = crossed(advance(state, event, config.windowMinutes), (state?.count ?? 0) + 1, config.failures, event.seq);
    return {
      state: window,
      ...(evidence === undefined ? {} : { findings: [{ subject: account, summary: `${window.count} failed sign-ins against ${account} within ${config.windowMinutes} minutes`, evidence }] }),
    };
  },
};
