import type { Migration } from '../platform/db/index.js';

// The guard asks, on every access to a patient's records, which Consents the patient has and at
// which versions (consent-policies.ts). A partial index holds the Consent rows only: the lookup
// reads a few index entries whatever the patient's number of other records, and writes of
// other types do not touch it. Both engines support partial indexes; the query repeats the
// literal `resource_type = 'Consent'` so that SQLite's planner may use it.
const consentIndex = (t: (name: string) => string) => [
  `CREATE INDEX privacy_consents_of_patient ON ${t('resources')} (key_subject, deleted, id, version_id) WHERE resource_type = 'Consent'`,
];

export const consentMigrations: readonly Migration[] = [{ id: 'privacy/consent-001-index', up: { sqlite: consentIndex, postgres: consentIndex } }];
