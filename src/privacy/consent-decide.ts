/**
 * The patient's privacy consents (FHIR R4 Consent, scope `patient-privacy`) applied to one access:
 * data (the consents, the caller, the action, the data classes) and one pure function. I/O — finding
 * and reading the consents, auditing the outcome — lives in consent-policies.ts and the guard.
 *
 * Base policy: opt-out. What the permission matrix permits stays permitted unless an active
 * consent of the patient denies it (GDPR Art. 7(3) withdrawal, Art. 21 objection). A tenant-wide
 * opt-in setting (deny unless a consent permits) would change `base` below; it is not offered yet.
 * A consent only narrows: a `permit` provision never widens what the matrix allows, it only carves
 * an exception out of a broader deny of the same consent (FHIR R4 §6.2.4.1: nested provisions
 * invert their parent).
 */

/** The data classes a patient can name in a provision (`provision.class`, Tresor's code system). */
export const consentClasses = ['personal', 'health', 'payment'] as const;
export type ConsentClass = (typeof consentClasses)[number];

export const consentScopeSystem = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const consentActionSystem = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const purposeSystem = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
/** Tresor's data classes as a code system, for `provision.class`. */
export const dataClassSystem = 'https://tresor.dev/fhir/CodeSystem/data-class';
/** An OAuth app as a provision actor: `actor.reference.identifier` `{ system, value: <client id> }`. */
export const appSystem = 'https://tresor.dev/fhir/NamingSystem/oauth-client';
/** A role as a provision actor: `actor.reference.identifier` `{ system, value: <Tresor role> }`. */
export const roleSystem = 'https://tresor.dev/fhir/CodeSystem/role';

/** FHIR consentaction codes (http://terminology.hl7.org/CodeSystem/consentaction). */
export type ConsentAction = 'access' | 'use' | 'disclose' | 'correct' | 'collect';

/** Who a provision names: a Practitioner, an OAuth app (by client id) or a Tresor role. */
export type ConsentActor = { readonly kind: 'practitioner'; readonly id: string } | { readonly kind: 'app'; readonly client: string } | { readonly kind: 'role'; readonly role: string };

/** A provision as Tresor reads it; an empty list means "any" (FHIR: the rule is not limited by that element). */
export interface Provision {
  readonly type: 'permit' | 'deny';
  /** Epoch ms, inclusive; undefined: open. */
  readonly start?: number;
  readonly end?: number;
  readonly actors: readonly ConsentActor[];
  readonly actions: readonly ConsentAction[];
  readonly purposes: readonly string[];
  readonly classes: readonly ConsentClass[];
  readonly provisions: readonly Provision[];
}

/** One active patient-privacy consent, parsed (consent-parse.ts). */
export interface ActiveConsent {
  /** `Consent/<id>`. */
  readonly ref: string;
  readonly start?: number;
  readonly end?: number;
  readonly provision: Provision;
}

/** Who asks, as the guard knows them. */
export interface ConsentCaller {
  readonly role: string;
  /** `Practitioner/<id>` of a staff account. */
  readonly practitioner?: string;
  /** The OAuth client id of an app's token. */
  readonly client?: string;
  /** The patient's own Patient for a patient account. */
  readonly patient?: string;
  /** HL7 v3 PurposeOfUse of the request. */
  readonly purpose: string;
}

export type RequestAction = 'read' | 'search' | 'history' | 'create' | 'update' | 'delete';

export interface ConsentQuery {
  readonly subject: string;
  readonly caller: ConsentCaller;
  readonly action: RequestAction;
  /** The classes the access would disclose or write (after the matrix). */
  readonly classes: readonly string[];
  readonly now: number;
}

export type ConsentDecision =
  | { readonly kind: 'permit' }
  | { readonly kind: 'deny'; readonly consent: string }
  | { readonly kind: 'redact'; readonly classes: readonly ConsentClass[]; readonly consent: string };

const permit: ConsentDecision = { kind: 'permit' };

/**
 * Which consentaction codes a request action is: reading is access, use and disclose (to this
 * caller); creating collects; changing or deleting corrects.
 */
const actionCodes: Readonly<Record<RequestAction, readonly ConsentAction[]>> = {
  read: ['access', 'use', 'disclose'],
  search: ['access', 'use', 'disclose'],
  history: ['access', 'use', 'disclose'],
  create: ['collect'],
  update: ['correct'],
  delete: ['correct'],
};

const within = (p: { start?: number; end?: number }, now: number): boolean => (p.start === undefined || now >= p.start) && (p.end === undefined || now <= p.end);

function actorMatches(actor: ConsentActor, caller: ConsentCaller): boolean {
  switch (actor.kind) {
    case 'practitioner':
      return caller.practitioner === `Practitioner/${actor.id}`;
    case 'app':
      return caller.client === actor.client;
    case 'role':
      return caller.role === actor.role;
  }
}

/** Whether a provision's rule, apart from data classes, covers this access. */
function covers(p: Provision, q: ConsentQuery, transparent = false): boolean {
  if (transparent) return true;
  if (!within(p, q.now)) return false;
  if (p.actors.length > 0 && !p.actors.some((a) => actorMatches(a, q.caller))) return false;
  if (p.actions.length > 0 && !p.actions.some((a) => actionCodes[q.action].includes(a))) return false;
  if (p.purposes.length > 0 && !p.purposes.includes(q.caller.purpose)) return false;
  return true;
}

/**
 * The effect of a provision tree on one class: a provision that covers the access (and names the
 * class, or no class) sets its type; its nested provisions are exceptions to it (FHIR R4 Consent:
 * a nested provision overrides its parent). Where exceptions disagree, deny wins.
 * `appsOnly`: the patient's own access through an app — only provisions naming an app decide,
 * the others are transparent (they pass their parent's effect on to their children).
 */
function effectOn(p: Provision, q: ConsentQuery, dataClass: string, inherited: 'permit' | 'deny', appsOnly: boolean): 'permit' | 'deny' {
  const transparent = appsOnly && !p.actors.some((a) => a.kind === 'app');
  if (!covers(p, q, transparent)) return inherited;
  if (p.classes.length > 0 && !(p.classes as readonly string[]).includes(dataClass)) return inherited;
  const own = transparent ? inherited : p.type;
  // Exceptions all point the other way from their parent, so any one of them decides.
  return p.provisions.some((child) => effectOn(child, q, dataClass, own, appsOnly) !== own) ? (own === 'deny' ? 'permit' : 'deny') : own;
}

/**
 * Decides one access by one patient's active consents (the matrix has already permitted it).
 * - The patient themself, on their own sign-in, is never blocked by their own consents; through an
 *   app, only a provision naming that app applies (they may have withdrawn it).
 * - Break-the-glass is not decided here: the guard lifts a consent for a caller who broke the
 *   glass (GDPR Art. 9(2)(c) vital interests) and records the grant for review. A stated purpose
 *   of ETREAT alone lifts nothing — any caller can state a purpose.
 * - The first consent (by id) that denies every class denies; otherwise the classes denied by any
 *   consent are redacted, naming the first consent that removed one. A deny of classes the access
 *   does not touch changes nothing.
 */
export function decideConsent(consents: readonly ActiveConsent[], q: ConsentQuery): ConsentDecision {
  if (consents.length === 0) return permit;
  const self = q.caller.patient !== undefined && q.caller.patient === q.subject;
  if (self && q.caller.client === undefined) return permit;
  const classes = q.classes.length === 0 ? ['internal'] : [...new Set(q.classes)];
  const removed = new Map<string, string>();
  for (const consent of [...consents].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))) {
    if (!within(consent, q.now)) continue;
    const denied = classes.filter((c) => effectOn(consent.provision, q, c, 'permit', self) === 'deny');
    if (denied.length === 0) continue;
    if (denied.length === classes.length) return { kind: 'deny', consent: consent.ref };
    for (const c of denied) if (!removed.has(c)) removed.set(c, consent.ref);
  }
  if (removed.size === 0) return permit;
  const first = [...removed.values()].sort()[0] as string;
  const named = [...removed.keys()].filter((c): c is ConsentClass => (consentClasses as readonly string[]).includes(c));
  // Only the classes a patient can name are redactable; anything else denied means the whole access.
  if (named.length < removed.size) return { kind: 'deny', consent: first };
  return { kind: 'redact', classes: named.sort(), consent: first };
}
