import { matrix, mayDo, type RecordAction, type Role } from '../identity/index.js';
import { supportedTypes } from '../records/resource-types.js';

/**
 * SMART on FHIR scopes as Tresor understands and enforces them (SMART App Launch 2.2, "Scopes
 * and Launch Context"). A scope is the client's half of an authorisation: the role matrix
 * (identity/permissions.ts) still decides what the person may do, and a token's scopes can only
 * narrow that, never widen it. Everything here is pure, so the authorisation server, the
 * consent screen and the FHIR routes all read the same rules.
 */

/** Whose data: the patient in context, whatever the signed-in user may reach, or a backend service. */
export type SmartContext = 'patient' | 'user' | 'system';
/** SMART v2 interactions: create, read (with vread and instance history), update, delete, search. */
export type SmartPermission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  readonly context: SmartContext;
  /** A supported resource type, or `*` for all of them. */
  readonly type: string;
  readonly permissions: ReadonlySet<SmartPermission>;
  /** The scope string as given. */
  readonly text: string;
}

const contexts: readonly SmartContext[] = ['patient', 'user', 'system'];
/** The order SMART v2 requires the letters in ("cruds"). */
const cruds: readonly SmartPermission[] = ['c', 'r', 'u', 'd', 's'];

/**
 * The v1 suffixes, read as their v2 equivalents (SMART App Launch 2.2, "Scope equivalence":
 * `.read` = `.rs`, `.write` = `.cud`, `.*` = `.cruds`), so a v1 client gets exactly what a v2
 * client asking the same would get.
 */
const v1: Readonly<Record<string, readonly SmartPermission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** A non-empty subsequence of "cruds", in that order, each letter at most once. */
const v2Permissions = /^(?=.)c?r?u?d?s?$/;
const resourceScopeSyntax = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z]+|\*)$/;

/**
 * Reads a resource scope: v2 `<context>/<Type|*>.<cruds>` or v1 `.read`/`.write`/`.*`. Returns
 * undefined for anything else, including out-of-order or repeated letters (SMART lets a server
 * reject those) and types Tresor does not serve.
 *
 * Fine-grained v2 scopes with a query (`patient/Observation.rs?category=laboratory`) are not
 * supported and so are not granted: Tresor cannot enforce the filter, and granting the scope
 * without it would give the app more than the patient was asked to allow.
 */
export function parseResourceScope(text: string): ResourceScope | undefined {
  if (text.includes('?')) return undefined;
  const m = resourceScopeSyntax.exec(text);
  if (m === null) return undefined;
  const context = m[1] as SmartContext;
  const type = m[2] as string;
  const suffix = m[3] as string;
  if (type !== '*' && !supportedTypes.includes(type)) return undefined;
  const letters = v1[suffix] ?? (v2Permissions.test(suffix) ? (suffix.split('') as SmartPermission[]) : undefined);
  if (letters === undefined) return undefined;
  return Object.freeze({ context, type, permissions: new Set(letters), text });
}

const permissionOfAction: Readonly<Record<RecordAction, SmartPermission>> = {
  read: 'r',
  // Tresor's history is instance history (`/:type/:id/_history`), which SMART counts as read.
  history: 'r',
  search: 's',
  create: 'c',
  update: 'u',
  delete: 'd',
};

/** The SMART letter a FHIR interaction needs (SMART App Launch 2.2, "Clinical Scope Syntax"). */
export function permissionOf(action: RecordAction): SmartPermission {
  return permissionOfAction[action];
}

/**
 * The contexts in which the token's scopes allow this action on this type: the FHIR routes then
 * apply the matching reach (the patient in context, the user's own reach, or the service's).
 */
export function contextsPermitting(scopes: readonly ResourceScope[], type: string, action: RecordAction): Set<SmartContext> {
  const needed = permissionOf(action);
  const found = new Set<SmartContext>();
  for (const scope of scopes) {
    if ((scope.type === '*' || scope.type === type) && scope.permissions.has(needed)) found.add(scope.context);
  }
  return found;
}

/** Whether a client registered with `registered` may be given `requested`: never more than registered. */
export function covers(registered: ResourceScope, requested: ResourceScope): boolean {
  if (registered.context !== requested.context) return false;
  if (registered.type !== '*' && registered.type !== requested.type) return false;
  for (const p of requested.permissions) if (!registered.permissions.has(p)) return false;
  return true;
}

/**
 * The scopes that are not about resources and that Tresor supports (SMART App Launch 2.2,
 * "Scopes for requesting context data", "identity data" and "a refresh token"). `launch` (the
 * EHR launch) and `online_access` are not offered.
 */
export const nonResourceScopes = ['openid', 'fhirUser', 'profile', 'launch/patient', 'offline_access'] as const;
export type NonResourceScope = (typeof nonResourceScopes)[number];

const isNonResourceScope = (scope: string): scope is NonResourceScope => (nonResourceScopes as readonly string[]).includes(scope);
const words = (scopes: string): string[] => scopes.split(/\s+/).filter((s) => s !== '');

/**
 * Splits a requested scope string (RFC 6749 §3.3: space-separated) into what the client is
 * granted and what it is refused. A resource scope is granted when one of the client's
 * registered scopes covers it, so a client cannot escalate beyond its registration; a
 * non-resource scope when Tresor supports it and the client registered it. Order is kept and
 * duplicates dropped.
 */
export function allowedScopes(requested: string, registered: string): { granted: string[]; refused: string[] } {
  const registeredWords = new Set(words(registered));
  const registeredScopes = [...registeredWords].map(parseResourceScope).filter((s): s is ResourceScope => s !== undefined);
  const granted: string[] = [];
  const refused: string[] = [];
  for (const scope of new Set(words(requested))) {
    const resource = parseResourceScope(scope);
    const ok =
      resource !== undefined ? registeredScopes.some((r) => covers(r, resource)) : isNonResourceScope(scope) && registeredWords.has(scope);
    (ok ? granted : refused).push(scope);
  }
  return { granted, refused };
}

/**
 * The requested scopes a person of `role` can use (the consent page offers only these), and those
 * they cannot: a resource scope when the role may do at least one of its interactions on its type
 * (any type for `*`) — the role still caps each request, so what is kept never widens it; never a
 * `system/` scope (those are for backend services, not people); `patient/` scopes and
 * `launch/patient` only for a role that may read Patient records (a patient their own, staff one
 * they choose). The identity scopes (`openid`, `fhirUser`, `profile`, `offline_access`) are
 * usable by everyone. Least privilege: an app is never granted what the person could not use
 * (OWASP ASVS 5 V8.2.1).
 */
export function scopesForRole(role: Role, requested: readonly string[]): { usable: string[]; unusable: string[] } {
  const readsPatients = mayDo(role, 'Patient', 'read');
  const actionsOf: Readonly<Record<SmartPermission, readonly RecordAction[]>> = { c: ['create'], r: ['read'], u: ['update'], d: ['delete'], s: ['search'] };
  const usable: string[] = [];
  const unusable: string[] = [];
  for (const scope of new Set(requested)) {
    const resource = parseResourceScope(scope);
    let ok: boolean;
    if (resource === undefined) ok = scope === 'launch/patient' ? readsPatients : isNonResourceScope(scope);
    else if (resource.context === 'system' || (resource.context === 'patient' && !readsPatients)) ok = false;
    else {
      const types = resource.type === '*' ? Object.keys(matrix[role].records) : [resource.type];
      ok = types.some((type) => [...resource.permissions].some((p) => actionsOf[p].some((action) => mayDo(role, type, action))));
    }
    (ok ? usable : unusable).push(scope);
  }
  return { usable, unusable };
}

let everyResourceScope: string | undefined;

/**
 * Every resource scope string Tresor accepts, space-separated: each context, each supported
 * type and `*`, with each of the 31 ordered v2 letter combinations and the three v1 suffixes.
 * oidc-provider needs a resource server's complete scope list up front; computed once.
 */
export function allResourceScopeStrings(): string {
  everyResourceScope ??= (() => {
    const suffixes: string[] = [];
    for (let mask = 1; mask < 1 << cruds.length; mask++) suffixes.push(cruds.filter((_, i) => (mask & (1 << i)) !== 0).join(''));
    suffixes.push(...Object.keys(v1));
    const scopes: string[] = [];
    for (const context of contexts) for (const type of [...supportedTypes, '*']) for (const suffix of suffixes) scopes.push(`${context}/${type}.${suffix}`);
    return scopes.join(' ');
  })();
  return everyResourceScope;
}

/** What a non-resource scope lets the app do, for the consent screen. */
const nonResourceText: Readonly<Record<NonResourceScope, string>> = {
  openid: 'Confirm who you are',
  fhirUser: 'Know which person or practitioner record is yours',
  profile: 'See your name',
  'launch/patient': 'Know which patient record it is working with',
  offline_access: 'Keep access when you are not using it, until you revoke it',
};

/**
 * Friendly names of the data, for a patient who has never heard of FHIR: `noun` (with `detail`
 * in brackets) names it for the patient and user contexts, `records` for a backend service,
 * `yours` replaces "your <noun>" where that would mislead.
 */
interface FriendlyType {
  readonly noun: string;
  readonly detail?: string;
  readonly records: string;
  readonly yours?: string;
}

const friendlyTypes: Readonly<Record<string, FriendlyType>> = {
  Patient: { noun: 'patient details', detail: 'name, contact, birth date', records: 'patient records' },
  // A patient has no practitioner details of their own: these are their carers'.
  Practitioner: { noun: 'practitioner (staff) details', records: 'practitioner (staff) records', yours: 'details of the practitioners (staff) caring for you' },
  Observation: { noun: 'observations', detail: 'measurements and test results', records: 'observations' },
  Appointment: { noun: 'appointments', records: 'appointments' },
  Consent: { noun: 'consents', records: 'consents' },
  Invoice: { noun: 'invoices and payment details', records: 'invoices and payment details' },
};

const verbs: Readonly<Record<SmartPermission, string>> = { c: 'create', r: 'read', u: 'change', d: 'delete', s: 'search' };

function listed(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] as string}`;
}

function dataOf(context: SmartContext, type: string): string {
  if (type === '*') {
    return context === 'patient' ? 'every kind of record about you' : context === 'user' ? 'every kind of record you can access' : 'every kind of record';
  }
  // A type added to resource-types.ts before it gets a friendly name still reads sensibly.
  const friendly = friendlyTypes[type] ?? { noun: `${type} records`, records: `${type} records` };
  const named = friendly.detail === undefined ? friendly.noun : `${friendly.noun} (${friendly.detail})`;
  switch (context) {
    case 'patient':
      return friendly.yours ?? `your ${named}`;
    case 'user':
      return `${named} you can access`;
    case 'system':
      return friendly.records;
  }
}

/**
 * A scope in plain English for the consent screen, naming the data and what the app may do with
 * it, so a patient can decide without knowing FHIR (e.g. `patient/Observation.rs` → "Read and
 * search your observations (measurements and test results)").
 */
export function describeScope(text: string): string {
  if (isNonResourceScope(text)) return nonResourceText[text];
  const scope = parseResourceScope(text);
  if (scope === undefined) return `Unrecognised permission "${text}"`;
  const actions = listed(cruds.filter((p) => scope.permissions.has(p)).map((p) => verbs[p]));
  const sentence = `${actions.charAt(0).toUpperCase()}${actions.slice(1)} ${dataOf(scope.context, scope.type)}`;
  return scope.context === 'system' ? `${sentence} (as a backend service, without a person present)` : sentence;
}
