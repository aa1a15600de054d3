/**
 * The data register (SPEC E1, P3; ISO 27701 records of processing): every stored field of
 * every resource type, by data class, and what each class gets. One versioned source: the
 * encryption layer reads it to decide what to seal, `tresor register` prints it, and the GDPR
 * records of processing will be generated from it. Granularity is the top-level element; a
 * field the register does not know is `health` and so encrypted (fail safe). A class stored in
 * clear keeps only values without free text in clear (`storableInClear`).
 */
export const registerVersion = 1;

/**
 * Whether the protections below are enforced on stored records: shown wherever the register
 * is, so it never claims more than the store does. (Records written before sealing existed
 * would be the reason to report false; this version seals every write.)
 */
export const fieldEncryptionEnforced = true;

export type DataClass = 'public' | 'internal' | 'personal' | 'health' | 'payment' | 'secret';

export const protectionOf: Readonly<Record<DataClass, 'plaintext, free text encrypted' | 'encrypted per field' | 'hashed'>> = {
  public: 'plaintext, free text encrypted',
  internal: 'plaintext, free text encrypted',
  personal: 'encrypted per field',
  health: 'encrypted per field',
  payment: 'encrypted per field',
  secret: 'hashed',
};

// Elements every resource has (R4 Resource and DomainResource).
const common: Readonly<Record<string, DataClass>> = {
  resourceType: 'internal',
  id: 'internal',
  meta: 'internal',
  implicitRules: 'internal',
  language: 'internal',
  text: 'health', // the narrative summarises everything else
  contained: 'health',
  extension: 'health',
  modifierExtension: 'health',
};

/** Per type; `[x]` marks a choice element (`value[x]` covers valueQuantity, valueString, …). */
export const dataRegister: Readonly<Record<string, Readonly<Record<string, DataClass>>>> = {
  Patient: {
    identifier: 'personal',
    active: 'internal',
    name: 'personal',
    telecom: 'personal',
    gender: 'personal',
    birthDate: 'personal',
    'deceased[x]': 'health',
    address: 'personal',
    maritalStatus: 'personal',
    'multipleBirth[x]': 'personal',
    photo: 'personal',
    contact: 'personal',
    communication: 'personal',
    generalPractitioner: 'internal',
    managingOrganization: 'internal',
    link: 'internal',
  },
  Practitioner: {
    identifier: 'personal',
    active: 'internal',
    name: 'personal',
    telecom: 'personal',
    address: 'personal',
    gender: 'personal',
    birthDate: 'personal',
    photo: 'personal',
    qualification: 'personal',
    communication: 'personal',
  },
  Observation: {
    identifier: 'personal',
    basedOn: 'internal',
    partOf: 'internal',
    status: 'internal',
    category: 'internal',
    code: 'internal',
    subject: 'internal',
    focus: 'internal',
    encounter: 'internal',
    'effective[x]': 'internal',
    issued: 'internal',
    performer: 'internal',
    'value[x]': 'health',
    dataAbsentReason: 'health',
    interpretation: 'health',
    note: 'health',
    bodySite: 'health',
    method: 'health',
    specimen: 'internal',
    device: 'internal',
    referenceRange: 'health',
    hasMember: 'internal',
    derivedFrom: 'internal',
    component: 'health',
  },
  Appointment: {
    identifier: 'personal',
    status: 'internal',
    cancelationReason: 'health',
    serviceCategory: 'internal',
    serviceType: 'internal',
    specialty: 'internal',
    appointmentType: 'internal',
    reasonCode: 'health',
    reasonReference: 'health',
    priority: 'internal',
    description: 'health',
    supportingInformation: 'health',
    start: 'internal',
    end: 'internal',
    minutesDuration: 'internal',
    slot: 'internal',
    created: 'internal',
    comment: 'health',
    patientInstruction: 'health',
    basedOn: 'internal',
    participant: 'internal',
    requestedPeriod: 'internal',
  },
  Consent: {
    identifier: 'personal',
    status: 'internal',
    scope: 'internal',
    category: 'internal',
    patient: 'internal',
    dateTime: 'internal',
    performer: 'internal',
    organization: 'internal',
    'source[x]': 'health',
    policy: 'health',
    policyRule: 'health',
    verification: 'health',
    provision: 'health',
  },
  // Payment data (SPEC: card payments): what was billed and how it is to be paid. Who owes it
  // and to whom are references (internal); the amounts, line items and terms are payment data.
  Invoice: {
    identifier: 'payment',
    status: 'internal',
    cancelledReason: 'payment',
    type: 'internal',
    subject: 'internal',
    recipient: 'internal',
    date: 'internal',
    participant: 'internal',
    issuer: 'internal',
    account: 'internal',
    lineItem: 'payment',
    totalPriceComponent: 'payment',
    totalNet: 'payment',
    totalGross: 'payment',
    paymentTerms: 'payment',
    note: 'health',
  },
};

/** What Tresor stores outside FHIR resources, for the same register. */
export const platformRegister: ReadonlyArray<{ store: string; field: string; class: DataClass; note: string }> = [
  { store: 'platform', field: 'tenants.id, tenants.name, tenants.status', class: 'internal', note: 'customer names, not patients' },
  { store: 'platform', field: 'api_keys.secret_hash', class: 'secret', note: 'SHA-256 of a 256-bit random secret' },
  { store: 'platform', field: 'api_keys.id, role, label, timestamps', class: 'internal', note: '' },
  { store: 'keys', field: 'tenant_keys.wrapped, data_keys.wrapped', class: 'secret', note: 'AES-256-GCM-wrapped; never stored unwrapped' },
  { store: 'tenant', field: 'search_index (personal parameters)', class: 'personal', note: 'keyed blind index (HMAC-SHA-256, 128 bits)' },
  { store: 'tenant', field: 'search_index (internal parameters), resource_links, versions, timestamps', class: 'internal', note: '' },
];

const choicePrefixes = new Map<string, Map<string, DataClass>>();
for (const [type, fields] of Object.entries(dataRegister)) {
  const prefixes = new Map<string, DataClass>();
  for (const [field, dataClass] of Object.entries(fields)) if (field.endsWith('[x]')) prefixes.set(field.slice(0, -3), dataClass);
  choicePrefixes.set(type, prefixes);
}

/** The class of a top-level element of a resource (`_x` primitive extensions follow `x`). */
export function classify(type: string, element: string): DataClass {
  const name = element.startsWith('_') ? element.slice(1) : element;
  const fromCommon = common[name];
  if (fromCommon !== undefined) return fromCommon;
  const direct = dataRegister[type]?.[name];
  if (direct !== undefined) return direct;
  for (const [prefix, dataClass] of choicePrefixes.get(type) ?? []) {
    if (name.length > prefix.length && name.startsWith(prefix) && /^[A-Z]/.test(name.slice(prefix.length))) return dataClass;
  }
  return 'health';
}

/**
 * Top-level choice elements present more than once (`valueQuantity` and `valueString`): FHIR R4
 * §2.24.0.1 allows one type per choice element, which the JSON schema cannot express.
 */
export function duplicateChoices(type: string, elements: readonly string[]): string[] {
  const duplicates: string[] = [];
  for (const prefix of choicePrefixes.get(type)?.keys() ?? []) {
    const variants = elements.filter((e) => e.length > prefix.length && e.startsWith(prefix) && /^[A-Z]/.test(e.slice(prefix.length)));
    if (variants.length > 1) duplicates.push(`${prefix}[x]`);
  }
  return duplicates;
}

export function isEncrypted(dataClass: DataClass): boolean {
  return protectionOf[dataClass] === 'encrypted per field';
}

// A code, id, date, instant or number as text: one token, no white space, nothing to narrate.
const singleToken = /^[A-Za-z0-9\-.:+]{1,64}$/;

/**
 * Whether an element's value may be stored in clear: only when its class allows it and the
 * value cannot carry free text — a number, a boolean, or a single token (status, date, id).
 * Any structured value is sealed even in an `internal` element: a CodeableConcept's `text`, a
 * Coding's or Reference's `display`, an extension or a note inside it is free text ("HIV
 * confirmatory western blot positive"), health data that must go with a destroyed key. The
 * coded values stay searchable through the search index (system and code only).
 */
export function storableInClear(type: string, element: string, value: unknown): boolean {
  if (isEncrypted(classify(type, element))) return false;
  return typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && singleToken.test(value));
}

/** The register as rows, for printing and for records of processing. */
export function registerRows(): Array<{ field: string; class: DataClass; protection: string }> {
  const rows: Array<{ field: string; class: DataClass; protection: string }> = [];
  for (const type of Object.keys(dataRegister)) {
    for (const [field, dataClass] of [...Object.entries(common), ...Object.entries(dataRegister[type] ?? {})]) {
      rows.push({ field: `${type}.${field}`, class: dataClass, protection: protectionOf[dataClass] });
    }
    rows.push({ field: `${type}.(any other element)`, class: 'health', protection: protectionOf.health });
  }
  return rows;
}
