import type { EventRule } from '../types.js';

const defaults = {};

/**
 * A spent refresh token or authorization code presented again: either the app is broken or the
 * token was stolen and one of two parties is using a copy. The server already revoked the whole
 * grant (RFC 9700 §4.14.2, refresh token rotation with reuse detection; §4.2.4 for codes); a
 * person must find out which it was.
 */
export const tokenReuse: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'token.reuse',
  severity: 'critical',
  title: 'Token replayed',
  describe: 'An OAuth refresh token or authorization code that had already been used was presented again. The grant and all its tokens were revoked at once; someone may hold a stolen copy of an app’s tokens.',
  defaults,
  realms: 'tenants',
  actions: ['token.reuse_detected'],
  evaluate(event) {
    // The grant id from the detail (provider.ts): an id, never the token.
    const grant = /grant (\S+) and/.exec(event.detail)?.[1];
    const what = event.detail.includes('authorization code') ? 'authorization code' : 'refresh token';
    return {
      findings: [
        {
          subject: event.actor.id,
          summary: `A spent ${what} of ${event.actor.id} (${event.actor.client}) was presented again from ${event.sourceIp}; ${grant === undefined ? 'its grant' : `grant ${grant}`} revoked`,
        },
      ],
    };
  },
};
