import { dataRegister, isEncrypted, type DataClass } from '../records/index.js';
import type { PatientAccess, TenantScope } from './scope.js';

/** A stored record as the raw files hold it: its ids, whose key sealed it, whether anything was sealed. */
export interface StoredRecordRow {
  readonly type: string;
  readonly id: string;
  /** `Patient/<id>`, or `_tenant` for records about no patient. */
  readonly subject: string;
  readonly sealed: boolean;
}

/**
 * The classes a record of `type` may hold in its sealed part: every class the data register
 * encrypts for the type, plus `health` (an element the register does not know is health data,
 * and sealed). The element names are sealed too, so which of them a record has is unknowable
 * without its key: this is what could have been there.
 */
export function sealedClassesOf(type: string): DataClass[] {
  const classes = new Set<DataClass>(['health']);
  for (const dataClass of Object.values(dataRegister[type] ?? {})) if (isEncrypted(dataClass)) classes.add(dataClass);
  return [...classes].sort();
}

/**
 * "The raw database or backup files were exposed" (pure): every record of the tenant written
 * by the end of the window is in them. Elements of the encrypted classes (personal, health,
 * payment) and every value that may carry free text are AES-256-GCM ciphertext under per-patient
 * keys wrapped by the tenant's key and the master key; ids, codes, dates and statuses are in
 * clear (`internal`). With the keys safe, that is ciphertext only — "unintelligible" data
 * (GDPR Art. 34(3)(a); HIPAA 45 CFR 164.402, secured per the HHS guidance on encryption). With
 * `keysExposed`, everything sealed counts as disclosed in clear.
 */
export function rawFilesScope(tenantId: string, rows: readonly StoredRecordRow[], keysExposed: boolean, listLimit: number): TenantScope {
  const patients = new Set<string>();
  const records = new Set<string>();
  const sealed = new Set<string>();
  for (const row of rows) {
    records.add(`${row.type}/${row.id}`);
    if (row.subject.startsWith('Patient/')) patients.add(row.subject);
    if (row.sealed) for (const c of sealedClassesOf(row.type)) sealed.add(c);
  }
  const sealedClasses = [...sealed].sort();
  const inClear = records.size === 0 ? [] : keysExposed ? [...new Set(['internal', ...sealedClasses])].sort() : ['internal'];
  const patientList: PatientAccess[] = [...patients]
    .sort()
    .slice(0, listLimit)
    .map((patient) => ({ patient, disclosure: keysExposed ? 'in-clear' : 'ciphertext-only', first: null, last: null, accesses: 0, classes: keysExposed ? sealedClasses : [] }));
  return {
    tenantId,
    trail: { events: 0, firstSeq: null, lastSeq: null },
    patients: { count: patients.size, truncated: patients.size > listLimit, list: patientList },
    records: { count: records.size, truncated: records.size > listLimit, list: [...records].sort().slice(0, listLimit) },
    classes: { inClear, ciphertextOnly: keysExposed ? [] : sealedClasses },
    attempts: { count: 0, first: null, last: null, byAction: {} },
    changes: { count: 0, records: 0 },
    reasoning: {
      disclosedBy: {},
      otherEvents: {},
      sealedClasses,
      rules: records.size === 0 ? [] : keysExposed ? ['raw-files-with-keys-disclose-in-clear'] : ['raw-files-sealed-classes-ciphertext-only', 'raw-files-internal-in-clear'],
    },
  };
}
