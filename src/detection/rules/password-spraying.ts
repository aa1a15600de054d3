import type { EventRule } from '../types.js';
import { attemptedAccount } from './attempted-account.js';
import { advance, crossed, type Window } from './window.js';

// A clinic's staff usually sign in from one address (the practice's connection): at the start of
// a shift a handful of them may mistype, but ten different accounts failing from one address
// within half an hour is one sender trying a password over many accounts.
const defaults = { accounts: 10, windowMinutes: 30 };

/** Distinct accounts kept per address: past the threshold only the count matters (bounded state). */
const distinctKept = 200;

/**
 * Password spraying: one source address, failed sign-ins against many distinct accounts — a few
 * common passwords tried across everyone, each account staying under its own throttle. Addresses
 * no account has count too, by the pseudonym the trail records for them (never the typed
 * address). OWASP ASVS 5 V6.3.1; MITRE ATT&CK T1110.003.
 */
export const passwordSpraying: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'auth.password-spraying',
  severity: 'high',
  title: 'Password spraying from one address',
  describe: 'Failed sign-ins against many different accounts from one network address within a short time: someone may be trying common passwords across all accounts.',
  defaults,
  realms: 'all',
  actions: ['auth.login_failed', 'auth.login_throttled'],
  key: (event) => (event.sourceIp === '' || attemptedAccount(event) === undefined ? undefined : event.sourceIp),
  evaluate(event, state, config) {
    const account = attemptedAccount(event);
    // Without an address or an account there is no window to count in (no key, no state).
    if (event.sourceIp === '' || account === undefined) return {};
    const advanced = advance(state, event, config.windowMinutes, account, Math.max(distinctKept, config.accounts));
    const { window, evidence } = crossed(advanced, advanced.distinct.length, config.accounts, event.seq);
    return {
      state: window,
      ...(evidence === undefined
        ? {}
        : { findings: [{ subject: event.sourceIp, summary: `${window.count} failed sign-ins against ${window.distinct.length} accounts from ${event.sourceIp} within ${config.windowMinutes} minutes`, evidence }] }),
    };
  },
};
