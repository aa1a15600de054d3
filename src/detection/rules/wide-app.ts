import type { EventRule } from '../types.js';

const defaults = {
  // A clinic's apps usually ask for a few record types of the patient in context
  // (`patient/Observation.rs`); these two shapes reach much further.
  // `system/…`: a backend service over every patient of the clinic (SMART Backend Services).
  systemScopes: true,
  // `…/*.…`: every kind of record at once.
  wildcardScopes: true,
};

/** A SMART resource scope (SMART App Launch 2.2 "Scopes"; oauth/scopes.ts reads them the same way). */
const resourceScope = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z]+|\*)$/;
/** v1 `.write`/`.*` and v2 letters c, u, d change records. */
const writes = (permissions: string) => permissions === 'write' || permissions === '*' || (permissions !== 'read' && /[cud]/.test(permissions));

/** `app <client id> (…); scope <scopes>[; awaiting approval]` (oauth/app-register.ts, the CLI's `app register`). */
const scopeOf = (detail: string): string[] => /; scope ([^;]*)/.exec(detail)?.[1]?.split(' ').filter((s) => s !== '') ?? [];
const clientOf = (detail: string): string | undefined => /^app (\S+)/.exec(detail)?.[1];

/**
 * A new app with wide scopes: the app's registration is where reach is granted once and then used
 * quietly by tokens for months (OWASP ASVS 5 V8.2.1, least privilege; NIST SP 800-53 AC-6).
 */
export const wideApp: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.wide-app',
  severity: 'medium',
  title: 'App with wide access registered',
  describe: 'A new app was registered that may reach every patient (a backend service) or every kind of record (a wildcard scope). Check that the clinic meant to give an app that much.',
  defaults,
  realms: 'tenants',
  actions: ['app.registered'],
  evaluate(event, _state, config) {
    const wide: string[] = [];
    let widest = false;
    for (const scope of scopeOf(event.detail)) {
      const m = resourceScope.exec(scope);
      if (m === null) continue;
      const [, context, type, permissions] = m as unknown as [string, string, string, string];
      const system = config.systemScopes && context === 'system';
      const wildcard = config.wildcardScopes && type === '*';
      if (!system && !wildcard) continue;
      wide.push(scope);
      // Every kind of record, and either every patient or the power to change them: the most an app can hold.
      if (type === '*' && (context === 'system' || writes(permissions))) widest = true;
    }
    if (wide.length === 0) return {};
    // Scope strings are the protocol's vocabulary, never contents; the app's name is its
    // registrant's free text and stays out of the alert.
    const client = clientOf(event.detail);
    const subject = client === undefined ? `app:${event.requestId}` : `app:${client}`;
    return {
      findings: [
        {
          subject,
          summary: `${event.actor.id} registered app ${client ?? '(unknown id)'} with wide scopes: ${wide.slice(0, 10).join(' ')}`,
          ...(widest ? { severity: 'high' as const } : {}),
        },
      ],
    };
  },
};
