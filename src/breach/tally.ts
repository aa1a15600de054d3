import type { Disclosure, PatientAccess, TenantScope } from './scope.js';

/** The columns of an audit event a scope reads. */
export interface TrailRow {
  readonly seq: number;
  readonly at: number;
  readonly action: string;
  readonly outcome: string;
  readonly resources: readonly string[];
  readonly subjects: readonly string[];
  readonly classes: readonly string[];
}

/**
 * Actions whose success means the API answered decrypted data to the caller: reads, searches,
 * history, exports and Bundles (whose response carries the resources the event lists).
 */
export const disclosureActions: ReadonlySet<string> = new Set(['record.read', 'record.searched', 'record.history-read', 'record.exported', 'bundle.processed']);
const changeActions: ReadonlySet<string> = new Set(['record.created', 'record.updated', 'record.deleted']);

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const sortedObject = (map: Map<string, number>) => Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)));
/** `Observation/1/_history/3` → `Observation/1`. */
export const recordOf = (ref: string) => ref.replace(/\/_history\/[^/]*$/, '');

/**
 * Folds the suspect's events of one tenant into its scope (pure; the caller chose the events).
 * A success of a disclosure action discloses its resources, patients and classes in clear; a
 * failure (any `outcome: failure`, including `access.denied`) is an attempt only; record writes
 * are changes; everything else is counted by action as context.
 */
export function createTally(tenantId: string, listLimit: number) {
  const patients = new Map<string, { first: number; last: number; accesses: number; classes: Set<string> }>();
  const records = new Set<string>();
  const changed = new Set<string>();
  const inClear = new Set<string>();
  const disclosedBy = new Map<string, number>();
  const attemptsBy = new Map<string, number>();
  const otherEvents = new Map<string, number>();
  let events = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let attempts = 0;
  let attemptFirst: number | null = null;
  let attemptLast: number | null = null;
  let changes = 0;

  return {
    add(row: TrailRow): void {
      events += 1;
      firstSeq = firstSeq === null ? row.seq : Math.min(firstSeq, row.seq);
      lastSeq = lastSeq === null ? row.seq : Math.max(lastSeq, row.seq);
      if (row.outcome !== 'success' || row.action === 'access.denied') {
        attempts += 1;
        attemptFirst = attemptFirst === null ? row.at : Math.min(attemptFirst, row.at);
        attemptLast = attemptLast === null ? row.at : Math.max(attemptLast, row.at);
        bump(attemptsBy, row.action);
        return;
      }
      if (changeActions.has(row.action)) {
        changes += 1;
        for (const ref of row.resources) changed.add(recordOf(ref));
        return;
      }
      if (!disclosureActions.has(row.action)) {
        bump(otherEvents, row.action);
        return;
      }
      bump(disclosedBy, row.action);
      for (const ref of row.resources) records.add(recordOf(ref));
      for (const c of row.classes) inClear.add(c);
      for (const subject of row.subjects) {
        if (!subject.startsWith('Patient/')) continue;
        const seen = patients.get(subject);
        if (seen === undefined) patients.set(subject, { first: row.at, last: row.at, accesses: 1, classes: new Set(row.classes) });
        else {
          seen.first = Math.min(seen.first, row.at);
          seen.last = Math.max(seen.last, row.at);
          seen.accesses += 1;
          for (const c of row.classes) seen.classes.add(c);
        }
      }
    },
    finish(): TenantScope {
      const disclosure: Disclosure = 'in-clear';
      const patientList: PatientAccess[] = [...patients.keys()]
        .sort()
        .slice(0, listLimit)
        .map((patient) => {
          const p = patients.get(patient) as { first: number; last: number; accesses: number; classes: Set<string> };
          return { patient, disclosure, first: p.first, last: p.last, accesses: p.accesses, classes: [...p.classes].sort() };
        });
      const rules = [
        ...(disclosedBy.size > 0 ? ['api-success-discloses-in-clear'] : []),
        ...(attempts > 0 ? ['refusals-are-attempts-only'] : []),
        ...(changes > 0 ? ['writes-are-changes'] : []),
      ];
      return {
        tenantId,
        trail: { events, firstSeq, lastSeq },
        patients: { count: patients.size, truncated: patients.size > listLimit, list: patientList },
        records: { count: records.size, truncated: records.size > listLimit, list: [...records].sort().slice(0, listLimit) },
        classes: { inClear: [...inClear].sort(), ciphertextOnly: [] },
        attempts: { count: attempts, first: attemptFirst, last: attemptLast, byAction: sortedObject(attemptsBy) },
        changes: { count: changes, records: changed.size },
        reasoning: { disclosedBy: sortedObject(disclosedBy), otherEvents: sortedObject(otherEvents), sealedClasses: [], rules },
      };
    },
  };
}
