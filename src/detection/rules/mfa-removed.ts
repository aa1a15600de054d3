import type { EventRule } from '../types.js';

const defaults = {
  // A person removing one of their own factors (a lost phone, a new passkey) is everyday; an
  // intruder in a session would do the same. Off, only an administrator's reset raises it.
  ownRemoval: true,
};

/**
 * A second factor removed or reset. An administrator's reset of someone's factors is the help-desk
 * path attackers socially engineer (NIST SP 800-63B §6.1.2.3, replacement of a lost authenticator);
 * a person's own removal weakens their account to a password. OWASP ASVS 5 V6.4 (authenticator
 * lifecycle).
 */
export const mfaRemoved: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.mfa-removed',
  severity: 'high',
  title: 'Second factor removed',
  describe: 'A second factor (authenticator app or passkey) was removed from an account, by its owner or by an administrator resetting all of them. Until a new one is enrolled, a password alone may open it.',
  defaults,
  realms: 'all',
  actions: ['auth.mfa_removed'],
  evaluate(event, _state, config) {
    const account = event.resources.find((r) => r.startsWith('Account/')) ?? event.actor.id;
    // The administrator's reason is their own words: it stays in the audit trail, not in the alert.
    const byAdministrator = event.detail.startsWith('by-administrator');
    if (!byAdministrator && !config.ownRemoval) return {};
    const factor = event.detail === 'totp' ? 'the authenticator app' : event.detail === 'passkey' ? 'a passkey' : 'a second factor';
    return {
      findings: [
        {
          subject: account,
          summary: byAdministrator ? `${event.actor.id} reset every second factor of ${account}` : `${account} removed ${factor} from their own account`,
        },
      ],
    };
  },
};
