import type { Clock } from '../platform/clock.js';
import type { PolicyCaller, Records, SubjectPolicies, SubjectRules } from '../records/index.js';
import { decideConsent, type ActiveConsent } from './consent-decide.js';
import { parseConsent } from './consent-parse.js';
import { selectRulesOf } from './restriction-store.js';

const defaults = {
  /** Patients whose parsed consents are kept in memory per process (oldest dropped first). */
  cacheSize: 10_000,
  /** Patients per lookup statement (bound parameters stay well under both engines' limits). */
  chunk: 400,
};

export interface ConsentPoliciesDeps {
  readonly records: Records;
  readonly clock: Clock;
  readonly cacheSize?: number;
}

/**
 * Patients' consents and restrictions for the record guard. Each request reads, in one indexed
 * statement for all its patients, the ids and versions of their live Consents and their
 * restriction (restriction-store.ts): a patient with neither costs that lookup and nothing else.
 * Parsed consents are cached per process under the versions they were read at, so a withdrawal
 * (a new version, or a delete) is seen by the very next request in every server process — the
 * cache can only be stale if the versions in the data set are, and those are read each time.
 */
export function createConsentPolicies({ records, clock, cacheSize = defaults.cacheSize }: ConsentPoliciesDeps): SubjectPolicies {
  const parsed = new Map<string, { stamp: string; consents: readonly ActiveConsent[] }>();

  async function consentsOf(t: Parameters<SubjectPolicies['of']>[0], patient: string, versions: ReadonlyArray<{ ref: string; version: number }>): Promise<readonly ActiveConsent[]> {
    const sorted = [...versions].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    const stamp = sorted.map((v) => `${v.ref}@${v.version}`).join(',');
    const key = `${t.tenantId}\u0000${patient}`;
    const known = parsed.get(key);
    if (known !== undefined && known.stamp === stamp) return known.consents;
    const consents: ActiveConsent[] = [];
    for (const { ref } of sorted) {
      // Fail closed: a Consent that cannot be read fails the access rather than being skipped.
      const stored = await records.read(t, 'Consent', ref);
      const consent = parseConsent(ref, JSON.parse(stored.content) as Record<string, unknown>);
      if (consent !== undefined) consents.push(consent);
    }
    parsed.delete(key);
    parsed.set(key, { stamp, consents });
    if (parsed.size > cacheSize) parsed.delete(parsed.keys().next().value as string);
    return consents;
  }

  return {
    async of(t, subjects, caller: PolicyCaller) {
      const answer = new Map<string, SubjectRules>();
      const found: Array<{ patient: string; kind: 'c' | 'r'; ref: string; version: number }> = [];
      for (let i = 0; i < subjects.length; i += defaults.chunk) found.push(...(await selectRulesOf(t.db, subjects.slice(i, i + defaults.chunk))));
      if (found.length === 0) return answer;
      const byPatient = new Map<string, typeof found>();
      for (const row of found) byPatient.set(row.patient, [...(byPatient.get(row.patient) ?? []), row]);
      for (const [patient, rows] of byPatient) {
        const consents = await consentsOf(t, patient, rows.filter((r) => r.kind === 'c').map((r) => ({ ref: r.ref, version: Number(r.version) })));
        const restriction = rows.find((r) => r.kind === 'r');
        if (consents.length === 0 && restriction === undefined) continue;
        const now = clock.now().getTime();
        answer.set(patient, {
          decide: (action, classes) => decideConsent(consents, { subject: patient, caller, action, classes, now }),
          ...(restriction === undefined ? {} : { restricted: { allowedRoles: restriction.ref === '' ? [] : restriction.ref.split(',') } }),
        });
      }
      return answer;
    },
  };
}
