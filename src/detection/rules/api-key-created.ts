import type { EventRule } from '../types.js';

const defaults = {
  // Roles whose key reaches every record of every class (permissions.ts): `service` reads and
  // writes them all; a stolen one is the whole clinic.
  highRoles: ['service'] as readonly string[],
};

/** `<key id> <role>` (the CLI's `apikey create`, cluster-commands' failover drill). */
const keyOf = /^(\S+) (\S+)$/;

/**
 * An API key created. Keys are long-lived bearer credentials for machines; a clinic makes a handful
 * in its life, so each one is worth knowing about (OWASP ASVS 5 V13.3, secret management; NIST
 * SP 800-53 AC-2(4)).
 */
export const apiKeyCreated: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.api-key',
  severity: 'medium',
  title: 'API key created',
  describe: 'An API key was created. A key with the service role reads and writes every record of every kind and is rated high.',
  defaults,
  realms: 'all',
  actions: ['apikey.created'],
  evaluate(event, _state, config) {
    const m = keyOf.exec(event.detail);
    const [, id, role] = (m ?? [undefined, 'unknown', 'unknown']) as [unknown, string, string];
    return {
      findings: [
        {
          subject: `apikey:${id}`,
          summary: `${event.actor.id} created API key ${id} with role ${role}`,
          ...(config.highRoles.includes(role) ? { severity: 'high' as const } : {}),
        },
      ],
    };
  },
};
