import { parseDateRange } from './fhir/dates.js';
import {
  asArray,
  asObject,
  asString,
  choiceDateRange,
  dateEntries,
  humanNameParts,
  referenceEntries,
  stringEntries,
  tokenEntries,
  type IndexEntry,
} from './search/index-entries.js';

export type FhirResource = Record<string, unknown> & { resourceType: string; id?: string };
export type SearchParamType = 'token' | 'reference' | 'date' | 'string';

export interface SearchParamDefinition {
  readonly name: string;
  readonly type: SearchParamType;
  /**
   * Indexes personal data: stored as a keyed blind index, so only exact matches work (tokens:
   * the code; strings: a whole normalised name part; dates: YYYY, YYYY-MM or YYYY-MM-DD).
   */
  readonly blind?: boolean;
  /** The R4 FHIRPath expression, for the CapabilityStatement and the docs. */
  readonly expression: string;
  readonly definition: string;
  readonly targets?: readonly string[];
  /**
   * For a token over a `code` element (no system of its own): the code system of its required
   * value set, the implicit system a client may name (`gender=http://hl7.org/fhir/administrative-gender|female`).
   */
  readonly codeSystem?: string;
  /**
   * Searched through another parameter's index rows, which hold every row this one would:
   * Observation's `patient` is its `subject` restricted to Patient targets, and a search value
   * always names a Patient, so a second copy of those rows would only make creates dearer.
   */
  readonly indexedAs?: string;
  readonly extract: (resource: FhirResource) => IndexEntry[];
}

export interface ResourceTypeDefinition {
  readonly type: string;
  readonly searchParams: readonly SearchParamDefinition[];
  /** The date parameter `_sort` may use (its low bound is kept on the row). */
  readonly sortDate?: string;
}

const base = 'http://hl7.org/fhir/SearchParameter/';
const subjectTargets = ['Patient', 'Practitioner'] as const;

function param(name: string, type: SearchParamType, id: string, expression: string, extract: (r: FhirResource) => IndexEntry[], targets?: readonly string[]): SearchParamDefinition {
  return { name, type, expression, definition: `${base}${id}`, extract, ...(targets === undefined ? {} : { targets }) };
}

const blind = (definition: SearchParamDefinition): SearchParamDefinition => ({ ...definition, blind: true });
const codedBy = (system: string, definition: SearchParamDefinition): SearchParamDefinition => ({ ...definition, codeSystem: system });
const indexedAs = (other: string, definition: SearchParamDefinition): SearchParamDefinition => ({ ...definition, indexedAs: other });

/** The `param` its index rows carry (see SearchParamDefinition.indexedAs). */
export const indexParamOf = (definition: SearchParamDefinition): string => definition.indexedAs ?? definition.name;
const fhirSystem = 'http://hl7.org/fhir/';

/**
 * The FHIR R4 subset Tresor serves: resource types and, for each, the search parameters it
 * indexes. The CapabilityStatement, the search parser and the indexer all read this table, so
 * what is advertised is exactly what works.
 */
export const resourceTypes: readonly ResourceTypeDefinition[] = [
  {
    // Everything searchable about a patient is personal data: blind indexes only, and no
    // sorting by birth date (its order would have to be stored in clear).
    type: 'Patient',
    searchParams: [
      blind(param('identifier', 'token', 'Patient-identifier', 'Patient.identifier', (r) => tokenEntries('identifier', r['identifier']))),
      blind(param('name', 'string', 'Patient-name', 'Patient.name', (r) => stringEntries('name', humanNameParts(r['name'])))),
      blind(param('birthdate', 'date', 'individual-birthdate', 'Patient.birthDate', (r) => dateEntries('birthdate', dateOf(r['birthDate']), asString(r['birthDate'])))),
      codedBy(`${fhirSystem}administrative-gender`, blind(param('gender', 'token', 'individual-gender', 'Patient.gender', (r) => tokenEntries('gender', r['gender'])))),
    ],
  },
  {
    type: 'Practitioner',
    searchParams: [
      blind(param('identifier', 'token', 'Practitioner-identifier', 'Practitioner.identifier', (r) => tokenEntries('identifier', r['identifier']))),
      blind(param('name', 'string', 'Practitioner-name', 'Practitioner.name', (r) => stringEntries('name', humanNameParts(r['name'])))),
    ],
  },
  {
    type: 'Observation',
    sortDate: 'date',
    searchParams: [
      indexedAs('subject', param('patient', 'reference', 'clinical-patient', "Observation.subject.where(resolve() is Patient)", (r) => referenceEntries('patient', r['subject'], ['Patient']), ['Patient'])),
      param('subject', 'reference', 'Observation-subject', 'Observation.subject', (r) => referenceEntries('subject', r['subject'], subjectTargets), subjectTargets),
      param('code', 'token', 'clinical-code', 'Observation.code', (r) => tokenEntries('code', r['code'])),
      param('category', 'token', 'Observation-category', 'Observation.category', (r) => tokenEntries('category', r['category'])),
      codedBy(`${fhirSystem}observation-status`, param('status', 'token', 'Observation-status', 'Observation.status', (r) => tokenEntries('status', r['status']))),
      param('date', 'date', 'clinical-date', 'Observation.effective', (r) => dateEntries('date', choiceDateRange(r, 'effective'))),
    ],
  },
  {
    type: 'Appointment',
    sortDate: 'date',
    searchParams: [
      param('patient', 'reference', 'Appointment-patient', "Appointment.participant.actor.where(resolve() is Patient)", (r) => referenceEntries('patient', actors(r), ['Patient']), ['Patient']),
      param('practitioner', 'reference', 'Appointment-practitioner', "Appointment.participant.actor.where(resolve() is Practitioner)", (r) => referenceEntries('practitioner', actors(r), ['Practitioner']), ['Practitioner']),
      param('date', 'date', 'Appointment-date', 'Appointment.start', (r) => dateEntries('date', dateOf(r['start']))),
      codedBy(`${fhirSystem}appointmentstatus`, param('status', 'token', 'Appointment-status', 'Appointment.status', (r) => tokenEntries('status', r['status']))),
    ],
  },
  {
    type: 'Consent',
    searchParams: [
      param('patient', 'reference', 'clinical-patient', 'Consent.patient', (r) => referenceEntries('patient', r['patient'], ['Patient']), ['Patient']),
      codedBy(`${fhirSystem}consent-state-codes`, param('status', 'token', 'Consent-status', 'Consent.status', (r) => tokenEntries('status', r['status']))),
    ],
  },
  {
    type: 'Invoice',
    sortDate: 'date',
    searchParams: [
      param('patient', 'reference', 'Invoice-patient', "Invoice.subject.where(resolve() is Patient)", (r) => referenceEntries('patient', r['subject'], ['Patient']), ['Patient']),
      codedBy(`${fhirSystem}invoice-status`, param('status', 'token', 'Invoice-status', 'Invoice.status', (r) => tokenEntries('status', r['status']))),
      param('date', 'date', 'Invoice-date', 'Invoice.date', (r) => dateEntries('date', dateOf(r['date']))),
    ],
  },
];

function dateOf(value: unknown) {
  const text = asString(value);
  return text === undefined ? undefined : parseDateRange(text);
}

function actors(resource: FhirResource): unknown[] {
  return asArray(resource['participant']).map((p) => asObject(p)?.['actor']);
}

const byType = new Map(resourceTypes.map((definition) => [definition.type, definition]));

export function resourceTypeDefinition(type: string): ResourceTypeDefinition | undefined {
  return byType.get(type);
}

export const supportedTypes: readonly string[] = resourceTypes.map((definition) => definition.type);

/**
 * The search index rows of a resource; personal parameters are blinded with the tenant's index
 * key (a date by each of its precisions, so 1980, 1980-02 and 1980-02-03 all find it).
 */
export function indexEntriesOf(definition: ResourceTypeDefinition, resource: FhirResource, digest: (param: string, value: string) => string): IndexEntry[] {
  return definition.searchParams.flatMap((p) => {
    if (p.indexedAs !== undefined) return [];
    const entries = p.extract(resource);
    if (!p.blind) return entries;
    return entries.flatMap((e): IndexEntry[] => {
      if (e.value === null) return [];
      if (p.type !== 'date') return [{ ...e, value: digest(p.name, e.value), low: null, high: null }];
      return datePrecisions(e.value).map((prefix) => ({ param: e.param, system: null, value: digest(p.name, prefix), low: null, high: null }));
    });
  });
}

/** "1980-02-03" → ["1980", "1980-02", "1980-02-03"]; times are not blinded. */
export function datePrecisions(date: string): string[] {
  const day = date.slice(0, 10);
  return [day.slice(0, 4), day.slice(0, 7), day].filter((part, i, all) => /^\d{4}(-\d{2}){0,2}$/.test(part) && all.indexOf(part) === i);
}

/**
 * Whose data key seals a resource: a patient's own record and everything about that patient
 * use the patient's key (crypto-shredding erases them together); the rest, the tenant key.
 */
export function keySubjectOf(type: string, id: string, resource: FhirResource): string {
  if (type === 'Patient') return `Patient/${id}`;
  const candidates =
    type === 'Observation' || type === 'Invoice' ? [resource['subject']] : type === 'Consent' ? [resource['patient']] : type === 'Appointment' ? actors(resource) : [];
  for (const candidate of candidates) {
    const reference = asString(asObject(candidate)?.['reference']);
    const m = reference === undefined ? null : /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(reference);
    if (m !== null) return `Patient/${m[1] as string}`;
  }
  return '_tenant';
}

export function sortDateOf(definition: ResourceTypeDefinition, entries: readonly IndexEntry[]): number | null {
  if (definition.sortDate === undefined) return null;
  let low: number | null = null;
  for (const entry of entries) if (entry.param === definition.sortDate && entry.low !== null && (low === null || entry.low < low)) low = entry.low;
  return low;
}
