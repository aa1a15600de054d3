import type { EventRule } from '../types.js';

const defaults = {};

/**
 * Every sign-in of a platform operator is an alert (low): operators can disable tenants, restore
 * backups and approve accounts, so their own access is seen by the others — not only when
 * something looks wrong. Four-eyes on the most privileged accounts (NIST SP 800-53 AC-6(9):
 * log the use of privileged functions; OWASP ASVS 5 V16.3.1).
 */
export const operatorSignIn: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'auth.operator-sign-in',
  severity: 'low',
  title: 'Platform operator signed in',
  describe: 'A platform operator signed in. Each sign-in is listed so that the operators\' own access is seen; confirm it was expected.',
  defaults,
  realms: 'operators',
  actions: ['auth.login_succeeded'],
  evaluate(event) {
    const account = event.resources.find((r) => r.startsWith('Account/')) ?? event.actor.id;
    const method = event.detail === '' ? 'password only' : `second factor ${event.detail}`;
    return { findings: [{ subject: account, summary: `${account} (${event.actor.role}) signed in from ${event.sourceIp} (${method})` }] };
  },
};
