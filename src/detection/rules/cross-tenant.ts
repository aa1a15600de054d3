import type { EventRule } from '../types.js';
import { principalOf } from './principal.js';

const defaults = {};

/**
 * A credential of this tenant (a session, an app's token, an API key) presented at another
 * tenant. Tresor refuses it and records the attempt in the credential's home trail
 * (identity/authenticate.ts: `access.denied`, detail `other-tenant <target> <method> <path>`):
 * nobody does that by mistake twice, so every attempt is an alert (OWASP ASVS 5 V8.4.1,
 * multi-tenant isolation). Findings about one principal join one alert with a count.
 */
export const crossTenant: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'access.cross-tenant',
  severity: 'high',
  title: 'Credential used at another tenant',
  describe: "A sign-in session, app token or API key of this clinic was presented at another clinic's address on this server and refused: the credential may have leaked, or someone is testing whether clinics are kept apart.",
  defaults,
  realms: 'tenants',
  actions: ['access.denied'],
  evaluate(event) {
    const [marker, target] = event.detail.split(' ');
    if (marker !== 'other-tenant' || target === undefined) return {};
    const { name } = principalOf(event);
    return { findings: [{ subject: name, summary: `${name} (${event.actor.role}), a credential of this tenant, was presented at tenant ${target} and refused` }] };
  },
};
