import type { EventRule } from '../types.js';
import { advance, crossed, type Window } from './window.js';

// A clinic's integrations (lab interface, billing export, an app's backend) authenticate a few
// times an hour; one with a revoked key or an old secret fails on each retry, typically once a
// minute. Twenty failures within ten minutes from one address is guessing or a broken client
// hammering — either way someone should look. (The credential throttle refuses an address
// after 100 failures in ten minutes; this alert comes well before.)
const defaults = { failures: 20, windowMinutes: 10 };

/**
 * A burst of failed client authentications from one address: wrong or revoked API keys, unknown
 * or expired app access tokens, wrong app client secrets at the token endpoint. OWASP ASVS 5
 * V6.3.1, V16.3.1; MITRE ATT&CK T1110.
 */
export const clientAuthBurst: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'auth.client-auth-burst',
  severity: 'medium',
  title: 'Failed API key or app authentications',
  describe: 'Many failed authentications with API keys, app access tokens or app client secrets from one network address within a short time: someone may be guessing credentials, or an integration keeps using a revoked one.',
  defaults,
  realms: 'tenants',
  actions: ['auth.credential_failed'],
  key: (event) => (event.sourceIp === '' ? undefined : event.sourceIp),
  evaluate(event, state, config) {
    // The methods seen (api_key, access_token, client_secret): three at most.
    const advanced = advance(state, event, config.windowMinutes, event.detail, 3);
    const { window, evidence } = crossed(advanced, advanced.count, config.failures, event.seq);
    return {
      state: window,
      ...(evidence === undefined
        ? {}
        : { findings: [{ subject: event.sourceIp, summary: `${window.count} failed client authentications (${window.distinct.join(', ')}) from ${event.sourceIp} within ${config.windowMinutes} minutes`, evidence }] }),
    };
  },
};
