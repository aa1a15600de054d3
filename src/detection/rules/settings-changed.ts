import type { EventRule } from '../types.js';

const defaults = {
  // A second-factor policy that no longer asks anyone for one weakens every account at once.
  weakeningPolicies: ['mfa optional'] as readonly string[],
};

/**
 * The tenant's security settings changed: the second-factor policy (`tenant.settings_changed`,
 * detail `mfa <policy>`) or who gets alerts and when (`alert.settings_changed`) — both are what an
 * intruder turns down first (MITRE ATT&CK T1562, impair defenses; OWASP ASVS 5 V16.2).
 */
export const settingsChanged: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.settings',
  severity: 'medium',
  title: 'Security settings changed',
  describe: 'The second-factor policy or the alert settings (time zone, working hours, who is told) were changed. Turning the second factor off for everyone is rated high.',
  defaults,
  realms: 'all',
  actions: ['tenant.settings_changed', 'alert.settings_changed'],
  evaluate(event, _state, config) {
    const tenant = event.resources.find((r) => r.startsWith('Tenant/'));
    const where = tenant === undefined ? '' : ` of ${tenant}`;
    if (event.action === 'alert.settings_changed') {
      return { findings: [{ subject: `settings:alerts${tenant === undefined ? '' : `:${tenant}`}`, summary: `${event.actor.id} changed the alert settings${where}` }] };
    }
    const weakened = config.weakeningPolicies.includes(event.detail);
    return {
      findings: [
        {
          subject: `settings:mfa${tenant === undefined ? '' : `:${tenant}`}`,
          // The detail is a policy name (`mfa staff`), one of three words.
          summary: `${event.actor.id} set the second-factor policy${where} to ${event.detail.replace(/^mfa /, '')}`,
          ...(weakened ? { severity: 'high' as const } : {}),
        },
      ],
    };
  },
};
