import type { EventRule } from '../types.js';

const defaults = {
  // Rotation is routine (the clinic's schedule, or after staff leave) and rated low; off, only
  // shredding and failures raise it.
  rotations: true,
};

/**
 * The tenant's keys changed: a rotation (started, finished, or the ID-token signing key) or a
 * shredding (a patient's data keys destroyed for erasure — irreversible). A rotation that failed
 * for some rows leaves them under the old key: high (NIST SP 800-57 Part 1 §8.2.3, key
 * replacement; SP 800-88 for destruction).
 */
export const keyChange: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'change.keys',
  severity: 'low',
  title: 'Keys rotated or shredded',
  describe: 'A key rotation ran, or a patient’s keys were shredded (their records can never be read again). A rotation that failed for some records is rated high; shredding medium.',
  defaults,
  realms: 'tenants',
  actions: ['key.rotated', 'key.shredded'],
  evaluate(event, _state, config) {
    if (event.action === 'key.shredded') {
      const whose = event.subjects.length === 0 ? 'a subject' : event.subjects.slice(0, 5).join(', ');
      return { findings: [{ subject: 'keys:shredded', summary: `${event.actor.id} shredded the keys of ${whose}`, severity: 'medium' }] };
    }
    if (event.outcome === 'failure') {
      return { findings: [{ subject: 'keys:rotation', summary: `A key rotation failed in part: ${event.detail}`, severity: 'high' }] };
    }
    if (!config.rotations) return {};
    return { findings: [{ subject: 'keys:rotation', summary: `${event.actor.id} rotated keys: ${event.detail}` }] };
  },
};
