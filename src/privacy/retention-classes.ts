/**
 * Retention by class: which class each patient record counts as, and the legal bases of the
 * defaults. A record's class is the most sensitive class of what it is for — an Observation or an
 * Appointment is the medical record (health), an Invoice the books (payment), the Patient and
 * their Consents the person (personal). Practitioner records belong to no patient and have no
 * retention here.
 */
export const retentionClasses = ['personal', 'health', 'payment'] as const;
export type RetentionClass = (typeof retentionClasses)[number];

export const classOfType: Readonly<Record<string, RetentionClass>> = {
  Patient: 'personal',
  Consent: 'personal',
  Observation: 'health',
  Appointment: 'health',
  Invoice: 'payment',
};

export const typesOfClass = (c: RetentionClass): string[] => Object.entries(classOfType).filter(([, k]) => k === c).map(([type]) => type);

/** Why the defaults are what they are (Germany; a tenant elsewhere sets its own). */
export const legalBasis: Readonly<Record<RetentionClass | 'medicalRecords', string>> = {
  medicalRecords: 'BGB § 630f(3): medical records 10 years after the end of treatment',
  health: 'BGB § 630f(3): medical records 10 years after the end of treatment',
  payment: 'HGB § 257(4), AO § 147(3): accounting records 10 years',
  personal: 'kept as long as the records that need the person (GDPR Art. 5(1)(e) storage limitation)',
};

/** `ms` plus whole calendar years (UTC): 29 February goes to 1 March in a year without it. */
export function addYears(ms: number, years: number): number {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}
