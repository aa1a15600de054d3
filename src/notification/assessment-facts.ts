import type { Scope, TenantScope } from '../breach/index.js';
import type { Residency } from './people.js';
import type { TenantFacts } from './assessment-types.js';

/** A tenant the scope touched: anything disclosed, changed or attempted there (as frozen-scopes.ts counts it). */
export const touched = (t: TenantScope): boolean => t.patients.count > 0 || t.records.count > 0 || t.attempts.count > 0 || t.changes.count > 0;

/**
 * How many of a tenant's affected patients were disclosed in clear and how many only as
 * ciphertext. A truncated list names fewer patients than it counts: those beyond it count as
 * in clear, the cautious side (their disclosure is not listed). The checklist and the notices
 * both count this way, so a report never says fewer were readable than the checklist assumed.
 */
export function disclosureCounts(tenant: TenantScope): { readonly inClear: number; readonly ciphertextOnly: number } {
  const listedInClear = tenant.patients.list.filter((p) => p.disclosure === 'in-clear').length;
  const beyond = Math.max(0, tenant.patients.count - tenant.patients.list.length);
  return { inClear: listedInClear + beyond, ciphertextOnly: tenant.patients.list.length - listedInClear };
}

export function factsOf(scope: Scope, tenant: TenantScope, residency: Residency | undefined): TenantFacts {
  const disclosed = disclosureCounts(tenant);
  return {
    tenantId: tenant.tenantId,
    suspect: scope.inputs.suspect,
    window: { from: scope.inputs.from, to: scope.inputs.to },
    patients: tenant.patients.count,
    patientsInClear: disclosed.inClear,
    patientsCiphertextOnly: disclosed.ciphertextOnly,
    records: tenant.records.count,
    attempts: tenant.attempts.count,
    changes: tenant.changes.count,
    classesInClear: tenant.classes.inClear,
    classesCiphertextOnly: tenant.classes.ciphertextOnly,
    residency,
  };
}

/** `1,200`: the grouping people read in reports, whatever the server's locale. */
export const count = (n: number): string => n.toLocaleString('en-US');

export const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

/** How the suspect reached the data, in words. */
export function howReached(facts: TenantFacts): string {
  const { suspect } = facts;
  switch (suspect.kind) {
    case 'api-key':
      return 'through the API by a valid API key';
    case 'account':
      return 'through the API by a person’s account';
    case 'client':
      return 'through the API by an OAuth app';
    case 'address':
      return 'through the API from the suspect address';
    case 'raw-files':
      return suspect.keysExposed ? 'in the raw database or backup files, with the keys that decrypt them' : 'in the raw database or backup files, without the keys';
  }
}

/**
 * Everything exposed was unintelligible: only ciphertext, and the keys were not exposed — GDPR
 * Art. 34(3)(a), and HHS's guidance that data encrypted per NIST SP 800-111 with keys kept apart
 * is not "unsecured" PHI (45 CFR 164.402; 74 FR 42740, 42742).
 */
export const unintelligible = (facts: TenantFacts): boolean =>
  facts.patients > 0 && facts.patientsInClear === 0 && personalInClear(facts).length === 0 && !(facts.suspect.kind === 'raw-files' && facts.suspect.keysExposed);

/**
 * The classes in clear that say something about a person. `internal` (ids, codes, dates,
 * statuses — in clear in the raw files by design) and `public` do not: the raw files without
 * the keys show that records exist, not whose or what.
 */
export const personalInClear = (facts: TenantFacts): readonly string[] => facts.classesInClear.filter((c) => c !== 'internal' && c !== 'public');

/** Health data (GDPR Art. 9 special category; PHI under HIPAA) among the classes disclosed in clear. */
export const healthInClear = (facts: TenantFacts): boolean => facts.classesInClear.includes('health');

/** The sentence every item starts from: how many, how, which classes. */
export function exposure(facts: TenantFacts): string {
  if (facts.patients === 0 && facts.records === 0) {
    return `No patient’s data was disclosed${facts.attempts > 0 ? ` (${plural(facts.attempts, 'refused or failed attempt')} — evidence of intent, not a disclosure)` : ''}`;
  }
  if (unintelligible(facts)) {
    return `${plural(facts.patients, 'patient')}, ${plural(facts.records, 'record')}, exposed only as ciphertext ${howReached(facts)} (classes sealed: ${facts.classesCiphertextOnly.join(', ') || 'none'})`;
  }
  const classes = facts.classesInClear.length === 0 ? 'no class recorded' : facts.classesInClear.join(', ');
  return `${plural(facts.patientsInClear, 'patient')} (${plural(facts.records, 'record')}) disclosed in clear ${howReached(facts)}; classes: ${classes}`;
}

export const hours = (h: number): number => h * 3_600_000;
export const days = (d: number): number => d * 86_400_000;
