import type { EventRule } from '../types.js';

const defaults = {};

/**
 * A stored record failed its integrity check when opened (`record.integrity_failed`): its
 * ciphertext, or the id it is bound to, was changed outside Tresor — tampering with the data set,
 * a restore gone wrong, a failing disk. AES-GCM's tag caught it (NIST SP 800-38D); the request
 * answered 500 and disclosed nothing, but someone must find out how it happened.
 */
export const sealedFieldIntegrity: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'integrity.sealed-field',
  severity: 'critical',
  title: 'Stored record failed its integrity check',
  describe: 'A stored record could not be opened because its encrypted data, or the record it is bound to, was changed outside Tresor: tampering with the database, a bad restore or a failing disk. Nothing was disclosed; the record cannot be read until it is restored.',
  defaults,
  realms: 'tenants',
  actions: ['record.integrity_failed'],
  evaluate(event) {
    // `Type/id/_history/n`: the alert is about the record, whichever versions fail.
    const version = event.resources[0] ?? 'a record';
    const record = version.replace(/\/_history\/\d+$/, '');
    return { findings: [{ subject: record, summary: `${version} failed its integrity check when ${event.actor.id} read it` }] };
  },
};
