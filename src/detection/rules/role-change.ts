import type { EventRule } from '../types.js';

const defaults = {
  // The roles that administer the clinic or the platform: a move into one is the classic step of
  // an intruder who holds an ordinary account (MITRE ATT&CK T1098, account manipulation).
  elevatedRoles: ['tenant-admin', 'operator', 'backup-operator'] as readonly string[],
};

/** `clinician→tenant-admin` in the event's detail (identity/accounts.ts `update`); a practitioner link change carries none. */
const roleMove = /(?:^|; )([a-z-]+)→([a-z-]+)(?:;|$)/;

/**
 * A person's role changed. In a small clinic this happens a few times a year, so every change is
 * worth a glance; a change into an administering role is worth more (OWASP ASVS 5 V8.2.2: changes
 * of privilege are logged and reviewed; NIST SP 800-53 AC-2(4) automated audit of account changes).
 */
export const roleChange: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.role',
  severity: 'medium',
  title: 'Role changed',
  describe: 'Someone changed the role of an account. A change to an administrator (or operator) role is rated high: it is how an intruder with an ordinary account would take over a clinic.',
  defaults,
  realms: 'all',
  actions: ['role.changed'],
  evaluate(event, _state, config) {
    const move = roleMove.exec(event.detail);
    if (move === null) return {};
    const [, from, to] = move as unknown as [string, string, string];
    const account = event.resources.find((r) => r.startsWith('Account/')) ?? 'an account';
    const elevated = config.elevatedRoles.includes(to);
    return {
      findings: [
        {
          subject: account,
          summary: `${event.actor.id} changed the role of ${account} from ${from} to ${to}`,
          ...(elevated ? { severity: 'high' as const } : {}),
        },
      ],
    };
  },
};
