import type { Locale } from '../platform/pages/index.js';
import { parseResourceScope, type SmartContext, type SmartPermission } from './scopes.js';

/**
 * SMART scopes in plain English and German for the consent page and the connected-apps page,
 * worded for who reads them: a patient reads "your observations", staff read "observations of
 * the patient you choose" (a `patient/` scope works with one patient record, which staff pick),
 * and "… you can access" for `user/` scopes. The scope string itself is shown beside it.
 */
export type ScopeAudience = 'patient' | 'staff';

interface TypeWords {
  readonly noun: string;
  /** Replaces "your <noun>" where that would mislead (a patient has no practitioner details of their own). */
  readonly yours?: string;
}

const types: Readonly<Record<Locale, Readonly<Record<string, TypeWords>>>> = {
  en: {
    Patient: { noun: 'patient details (name, contact, birth date)' },
    Practitioner: { noun: 'practitioner (staff) details', yours: 'details of the practitioners (staff) caring for you' },
    Observation: { noun: 'observations (measurements and test results)' },
    Appointment: { noun: 'appointments' },
    Consent: { noun: 'consents' },
    Invoice: { noun: 'invoices and payment details' },
  },
  de: {
    Patient: { noun: 'Patientendaten (Name, Kontakt, Geburtsdatum)' },
    Practitioner: { noun: 'Angaben zu Behandelnden (Personal)', yours: 'Angaben zu den Behandelnden, die Sie betreuen,' },
    Observation: { noun: 'Beobachtungen (Messwerte und Befunde)' },
    Appointment: { noun: 'Termine' },
    Consent: { noun: 'Einwilligungen' },
    Invoice: { noun: 'Rechnungen und Zahlungsdaten' },
  },
};

const identity: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  en: {
    openid: 'Confirm who you are',
    fhirUser: 'Know which person or practitioner record is yours',
    profile: 'See your name',
    'launch/patient': 'Know which patient record it is working with',
    offline_access: 'Keep access when you are not using it, until you withdraw it',
  },
  de: {
    openid: 'Bestätigen, wer Sie sind',
    fhirUser: 'Wissen, welcher Personen- oder Behandelnden-Datensatz Ihrer ist',
    profile: 'Ihren Namen sehen',
    'launch/patient': 'Wissen, mit welcher Patientenakte sie arbeitet',
    offline_access: 'Zugriff behalten, auch wenn Sie sie nicht nutzen, bis Sie ihn widerrufen',
  },
};

const verbs: Readonly<Record<Locale, Readonly<Record<SmartPermission, string>>>> = {
  en: { c: 'create', r: 'read', u: 'change', d: 'delete', s: 'search' },
  de: { c: 'anlegen', r: 'lesen', u: 'ändern', d: 'löschen', s: 'durchsuchen' },
};

const order: readonly SmartPermission[] = ['c', 'r', 'u', 'd', 's'];

function listed(locale: Locale, items: readonly string[]): string {
  const and = locale === 'de' ? 'und' : 'and';
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${and} ${items[items.length - 1] as string}`;
}

function data(locale: Locale, context: SmartContext, type: string, audience: ScopeAudience): string {
  const de = locale === 'de';
  if (type === '*') {
    if (context === 'patient') return audience === 'patient' ? (de ? 'alle Arten Ihrer Daten' : 'every kind of record about you') : de ? 'alle Arten von Daten aus der Akte, die Sie wählen,' : 'every kind of record of the patient you choose';
    return context === 'user' ? (de ? 'alle Arten von Daten, auf die Sie Zugriff haben' : 'every kind of record you can access') : de ? 'alle Arten von Daten' : 'every kind of record';
  }
  const words = types[locale][type] ?? { noun: `${type}` };
  switch (context) {
    case 'patient':
      if (audience === 'patient') return words.yours ?? (de ? `Ihre ${words.noun}` : `your ${words.noun}`);
      return de ? `${words.noun} aus der Akte, die Sie wählen,` : `${words.noun} of the patient you choose`;
    case 'user':
      return de ? `${words.noun}, auf die Sie Zugriff haben,` : `${words.noun} you can access`;
    case 'system':
      return words.noun;
  }
}

/** One scope as a sentence, e.g. `patient/Observation.rs` → "Read and search your observations (…)". */
export function describeScopeFor(locale: Locale, text: string, audience: ScopeAudience): string {
  const known = identity[locale][text];
  if (known !== undefined) return known;
  const scope = parseResourceScope(text);
  if (scope === undefined) return text;
  const actions = listed(locale, order.filter((p) => scope.permissions.has(p)).map((p) => verbs[locale][p]));
  const what = data(locale, scope.context, scope.type, audience);
  // German puts the verb last: "Ihre Beobachtungen lesen und durchsuchen".
  const sentence = locale === 'de' ? `${what.charAt(0).toUpperCase()}${what.slice(1)} ${actions}` : `${actions.charAt(0).toUpperCase()}${actions.slice(1)} ${what}`;
  if (scope.context !== 'system') return sentence;
  return locale === 'de' ? `${sentence} (als Hintergrunddienst, ohne anwesende Person)` : `${sentence} (as a backend service, without a person present)`;
}
