import { isDeepStrictEqual } from 'node:util';
import { grantOf, hasCapability, IdentityError, matrix, mayDo, type Principal, type RecordAction, type Role } from '../identity/index.js';
import { tenantSubject } from '../keys/index.js';
import { classify, dataRegister, protectionOf, type DataClass } from './data-register.js';
import type { Disclosure, Records, TenantView } from './records.js';
import { keySubjectOf, resourceTypeDefinition } from './resource-types.js';
import type { RecordScope } from './search/sql.js';
import { contextsPermitting, parseResourceScope, permissionOf, type ResourceScope } from '../oauth/scopes.js';

/** A resource version as it is about to leave: enough to decide reach and redact it. */
export interface Revealed extends Disclosure {
  readonly type: string;
  readonly id: string;
  readonly content: string;
}

/** HL7 v3 ObservationValue REDACTED on meta.security: elements were removed for this reader. */
export const redactedTag = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED', display: 'redacted' } as const;

/**
 * Restriction of processing (GDPR Art. 18(1)) on meta.security of everything disclosed about a
 * restricted patient: the data is kept, and whoever still receives it is told not to process it.
 */
export const restrictedTag = { system: 'https://tresor.dev/fhir/CodeSystem/privacy', code: 'restricted-processing', display: 'processing restricted (GDPR Art. 18)' } as const;

/** Who asks, for a patient's own rules: role, their Practitioner, the app, their own Patient, the purpose of use. */
export interface PolicyCaller {
  readonly role: Role;
  readonly practitioner?: string;
  readonly client?: string;
  readonly patient?: string;
  readonly purpose: string;
}

/** A patient's consents applied to one access (src/privacy/consent-decide.ts). */
export type PolicyDecision =
  | { readonly kind: 'permit' }
  | { readonly kind: 'deny'; readonly consent: string }
  | { readonly kind: 'redact'; readonly classes: readonly string[]; readonly consent: string };

/** One patient's rules beyond the matrix: their privacy consents and a restriction of processing. */
export interface SubjectRules {
  /** The consents' decision for this caller, action and the classes it would disclose or write. */
  decide(action: RecordAction, classes: readonly string[]): PolicyDecision;
  /** While processing is restricted: the roles that may still read and write (GDPR Art. 18(2)). */
  readonly restricted?: { readonly allowedRoles: readonly string[] };
}

/**
 * Finds patients' rules (wired from src/privacy): one indexed lookup for a request's patients,
 * patients without consents or restriction absent from the answer.
 */
export interface SubjectPolicies {
  of(t: TenantView, subjects: readonly string[], caller: PolicyCaller): Promise<ReadonlyMap<string, SubjectRules>>;
}

/** What a patient's rules removed from an answer, for the audit trail (the Consent by id, or the restriction). */
export interface PolicyEffect {
  readonly kind: 'withheld' | 'redacted';
  /** `Consent/<id>`, or `restriction`. */
  readonly basis: string;
  readonly refs: readonly string[];
  readonly subjects: readonly string[];
  /** The classes removed (redacted). */
  readonly classes: readonly string[];
}

/**
 * A refusal by a patient's rules: `basis` names the Consent (`Consent/<id>`, never its contents)
 * or `restriction`, for the audit event's detail.
 */
export class PolicyRefusal extends IdentityError {
  constructor(
    code: 'consent-denied' | 'processing-restricted',
    message: string,
    readonly basis: string,
  ) {
    super(code, message, { status: 403, expose: true });
  }
}

/** What a break-the-glass access reached that the caller's normal scope does not. */
export interface EmergencyGrant {
  readonly reason: string;
  readonly refs: readonly string[];
  readonly subjects: readonly string[];
}

/**
 * The permission matrix applied to one request's records: every FHIR route and every Bundle
 * entry passes through these checks, so what a role may do is decided here and nowhere else
 * (OWASP ASVS 5 V8.3.1: enforced at a trusted service layer).
 * - `allow`: the role may do the action on the type (function level, V8.2.1);
 * - `scope` / `reach`: the records it may touch — its tenant, the patients in its care, its
 *   own compartment (data level, V8.2.2); break-the-glass lifts the care limit with a reason,
 *   and each grant is audited before anything is disclosed;
 * - `disclose`: removes the elements of data classes the role may not see (field level, V8.2.3);
 * - `admit`: refuses elements of classes the role may not write, and keeps the stored values
 *   of those classes on update.
 * Then each patient's own rules (GDPR Art. 7, 18, 21 — src/privacy): their privacy consents
 * narrow what the matrix allowed (refuse, or redact classes), and a restriction of processing
 * keeps the data from every role but the allowed ones and labels what is still disclosed.
 */
export interface RecordGuard {
  allow(type: string, action: RecordAction): void;
  /** Search parameters and sort keys on elements the role cannot see would reveal them by filtering. */
  checkSearch(type: string, params: ReadonlyArray<readonly [string, string]>): void;
  /** The SQL restriction of this caller's searches of a type. */
  scopeOf(type: string): RecordScope;
  /** Throws 403 unless the subject (`Patient/<id>` or `_tenant`) is within reach; break-the-glass grants are recorded. */
  reach(t: TenantView, subject: string, ref: string, options?: { readonly newPatient?: boolean; readonly action?: RecordAction }): Promise<void>;
  /** In reach (checked unless `inScope`), then redacted to the role's classes. */
  disclose<T extends Revealed>(t: TenantView, item: T, options?: { readonly inScope?: boolean }): Promise<T>;
  /** Search matches: those outside the normal scope (break-the-glass) are granted in one event, then all are redacted. */
  discloseAll<T extends Revealed>(t: TenantView, items: readonly T[]): Promise<T[]>;
  /** A write's body as it may be stored; `ifMatch` pins the version the kept values came from. */
  admit(t: TenantView, type: string, target: { readonly mode: 'create' } | { readonly mode: 'update'; readonly id: string }, body: unknown): Promise<{ body: unknown; ifMatch?: string }>;
}

export interface GuardOptions {
  /** `X-Break-Glass-Reason`, already checked for form; only roles with `emergency:access` may give one. */
  readonly emergencyReason?: string;
  /** Records a break-the-glass grant durably (fail closed: a failure fails the access). */
  readonly onEmergency: (grant: EmergencyGrant) => Promise<void>;
  /** The request's purpose of use (HL7 v3), for the patient's consents. */
  readonly purpose?: string;
  /** Patients' consents and restrictions; without it only the matrix decides. */
  readonly policies?: SubjectPolicies;
  /** Records what a patient's rules withheld or redacted, durably, before the answer leaves. */
  readonly onPolicy?: (effect: PolicyEffect) => Promise<void>;
}

/** Every data class there is. */
const dataClasses = Object.keys(protectionOf) as DataClass[];

/** The classes a resource type's elements can have (any unknown element is health). */
const classesOfType = (type: string): Set<DataClass> =>
  new Set<DataClass>(['internal', 'health', ...Object.values(dataRegister[type] ?? {})]);

/** The class of the element a search parameter reads (`Observation.subject.where(…)` → subject). */
function classOfParam(type: string, name: string): DataClass | undefined {
  const param = resourceTypeDefinition(type)?.searchParams.find((p) => p.name === name);
  if (param === undefined) return undefined;
  const element = param.expression.split('.')[1] ?? '';
  return dataRegister[type]?.[element] ?? dataRegister[type]?.[`${element}[x]`] ?? classify(type, element);
}

const outside = (principal: Principal): IdentityError =>
  principal.role === 'patient'
    ? new IdentityError('outside-compartment', 'This record is not in your own records.', { status: 403, expose: true })
    : hasCapability(principal.role, 'emergency:access')
      ? new IdentityError('not-in-care', 'This patient is not in your care. In an emergency, state why in the X-Break-Glass-Reason header; the access is recorded for review.', { status: 403, expose: true })
      : new IdentityError('forbidden', 'This record is outside what your role may reach.', { status: 403, expose: true });

/** An app token's SMART scopes, parsed (what does not parse grants nothing). */
const smartScopesOf = (principal: Principal): ResourceScope[] | undefined =>
  principal.smart === undefined ? undefined : principal.smart.scope.split(' ').flatMap((s) => parseResourceScope(s) ?? []);

/**
 * Function level for an app's token (SMART App Launch v2 scopes): the role must allow the action
 * (permission matrix) and the token must carry a scope for it — the scopes narrow the role, the
 * role caps the token. Throws 403 insufficient_scope (RFC 6750 §3.1).
 */
export function checkSmartScope(principal: Principal, type: string, action: RecordAction): void {
  const scopes = smartScopesOf(principal);
  if (scopes === undefined) return;
  if (contextsPermitting(scopes, type, action).size === 0) {
    const needed = `patient/${type}.${permissionOf(action)} or user/${type}.${permissionOf(action)}`;
    throw new IdentityError('forbidden', `This app's access token has no scope to ${action} ${type} (it needs ${principal.kind === 'service-account' ? `system/${type}.${permissionOf(action)}` : needed}).`, {
      status: 403,
      expose: true,
      headers: { 'www-authenticate': `Bearer realm="tresor", error="insufficient_scope"` },
    });
  }
}

export function createGuard(records: Records, principal: Principal, options: GuardOptions): RecordGuard {
  const smartScopes = smartScopesOf(principal);
  /**
   * Whether the token reaches this type only in its launch patient's compartment: it holds
   * patient/ scopes for the type and no user/ or system/ scope for it.
   */
  const compartmentOnly = (type: string): boolean =>
    smartScopes !== undefined && !smartScopes.some((s) => s.context !== 'patient' && (s.type === '*' || s.type === type));
  const launchPatient = principal.smart?.patient ?? '-';
  const definition = matrix[principal.role];
  const emergency = options.emergencyReason !== undefined && hasCapability(principal.role, 'emergency:access') && principal.smart === undefined ? options.emergencyReason : undefined;
  const practitionerId = principal.practitioner?.replace(/^Practitioner\//, '');
  const careCache = new Map<string, Promise<boolean>>();
  const granted = new Set<string>();

  const scope: RecordScope =
    definition.scope === 'tenant' || emergency !== undefined
      ? { kind: 'tenant' }
      : definition.scope === 'own'
        ? { kind: 'subject', subject: principal.patient ?? '-' }
        : { kind: 'care', practitionerId };

  function inReach(t: TenantView, subject: string, type: string): Promise<boolean> {
    // An app limited to its launch patient reaches that compartment and nothing else (the role's reach was checked when the token was resolved).
    if (compartmentOnly(type)) return Promise.resolve(subject === launchPatient);
    if (definition.scope === 'tenant') return Promise.resolve(true);
    if (definition.scope === 'own') return Promise.resolve(principal.patient !== undefined && subject === principal.patient);
    if (subject === tenantSubject) return Promise.resolve(true);
    if (practitionerId === undefined) return Promise.resolve(false);
    let known = careCache.get(subject);
    if (known === undefined) {
      known = records.inCare(t, subject, practitionerId);
      careCache.set(subject, known);
    }
    return known;
  }

  /** Of these, what is outside the normal scope: refused, or (break-the-glass) granted and recorded. */
  async function admitOutside(t: TenantView, items: ReadonlyArray<{ subject: string; ref: string }>): Promise<void> {
    const beyond: Array<{ subject: string; ref: string }> = [];
    for (const item of items) if (!(await inReach(t, item.subject, item.ref.split('/')[0] as string))) beyond.push(item);
    if (beyond.length === 0) return;
    if (emergency === undefined) throw outside(principal);
    const fresh = beyond.filter((b) => !granted.has(b.ref));
    if (fresh.length === 0) return;
    await options.onEmergency({ reason: emergency, refs: fresh.map((b) => b.ref), subjects: [...new Set(fresh.map((b) => b.subject))] });
    for (const b of fresh) granted.add(b.ref);
  }

  const policyCaller: PolicyCaller = {
    role: principal.role,
    ...(principal.practitioner === undefined ? {} : { practitioner: principal.practitioner }),
    ...(principal.client === undefined ? {} : { client: principal.client }),
    ...(principal.patient === undefined ? {} : { patient: principal.patient }),
    purpose: options.purpose ?? 'TREAT',
  };
  // One lookup per patient per request: a request decides at one moment (a withdrawal counts from the next request).
  const rulesCache = new Map<string, SubjectRules | null>();
  async function rulesOf(t: TenantView, subjects: readonly string[]): Promise<Map<string, SubjectRules>> {
    const found = new Map<string, SubjectRules>();
    if (options.policies === undefined) return found;
    const wanted = [...new Set(subjects)].filter((s) => s.startsWith('Patient/') && !rulesCache.has(s));
    if (wanted.length > 0) {
      const answer = await options.policies.of(t, wanted, policyCaller);
      for (const s of wanted) rulesCache.set(s, answer.get(s) ?? null);
    }
    for (const s of subjects) {
      const rules = rulesCache.get(s);
      if (rules !== undefined && rules !== null) found.set(s, rules);
    }
    return found;
  }

  /** Art. 18(2): while restricted only the allowed roles process; the patient still reads their own (and records their consents). */
  const mayProcess = (rules: SubjectRules, subject: string, write: boolean, type: string): boolean =>
    rules.restricted === undefined ||
    rules.restricted.allowedRoles.includes(principal.role) ||
    (principal.role === 'patient' && principal.patient === subject && (!write || type === 'Consent'));
  const restricted = (): PolicyRefusal =>
    new PolicyRefusal('processing-restricted', "Processing of this patient's data is restricted (GDPR Art. 18): it is kept, but your role may not read or change it.", 'restriction');
  const consentDenied = (consent: string): PolicyRefusal => new PolicyRefusal('consent-denied', `The patient's consent ${consent} does not allow this access.`, consent);

  /**
   * The consents' decision; break-the-glass lifts it (GDPR Art. 9(2)(c)), recorded as a grant for
   * review like any. The patient's Consent resources themselves are not subject to their own
   * provisions: whoever the matrix lets write them can record a change or a withdrawal.
   */
  async function consentOf(rules: SubjectRules, subject: string, ref: string, action: RecordAction, classes: readonly string[]): Promise<PolicyDecision> {
    if (ref.startsWith('Consent/') || ref === 'Consent') return { kind: 'permit' };
    const decision = rules.decide(action, classes);
    if (decision.kind === 'permit' || emergency === undefined) return decision;
    if (!granted.has(ref)) {
      await options.onEmergency({ reason: emergency, refs: [ref], subjects: [subject] });
      granted.add(ref);
    }
    return { kind: 'permit' };
  }

  /** One disclosed item under its patient's rules: refused, redacted further, marked restricted. */
  async function ruled<T extends Revealed>(rules: SubjectRules, item: T): Promise<{ item: T; redacted?: { consent: string; classes: readonly string[] } }> {
    if (!mayProcess(rules, item.subject, false, item.type)) throw restricted();
    const decision = await consentOf(rules, item.subject, `${item.type}/${item.id}`, 'read', item.classes);
    if (decision.kind === 'deny') throw consentDenied(decision.consent);
    let shown = decision.kind === 'redact' ? withoutClasses(item, decision.classes) : item;
    if (rules.restricted !== undefined) shown = tagged(shown, restrictedTag);
    return decision.kind === 'redact' ? { item: shown, redacted: { consent: decision.consent, classes: decision.classes } } : { item: shown };
  }

  /** A write's patient under their rules: restriction, then the consents for the classes written. */
  async function admitRules(t: TenantView, subject: string, ref: string, action: RecordAction, classes: readonly string[]): Promise<void> {
    const rules = (await rulesOf(t, [subject])).get(subject);
    if (rules === undefined) return;
    const type = ref.split('/')[0] as string;
    if (!mayProcess(rules, subject, action === 'create' || action === 'update' || action === 'delete', type)) throw restricted();
    const decision = await consentOf(rules, subject, ref, action, classes);
    if (decision.kind !== 'permit') throw consentDenied(decision.consent);
  }

  /** The role's field level: the classes its grant does not read removed, as a patient's consent removes its classes. */
  function redact<T extends Revealed>(item: T): T {
    const readable = new Set(grantOf(principal.role, item.type)?.read ?? []);
    if (item.classes.every((c) => readable.has(c))) return item;
    return withoutClasses(item, dataClasses.filter((c) => !readable.has(c)));
  }

  return {
    scopeOf(type) {
      return compartmentOnly(type) ? { kind: 'subject', subject: launchPatient } : scope;
    },
    allow(type, action) {
      if (resourceTypeDefinition(type) === undefined) return; // the route answers 404 type-unsupported
      if (!mayDo(principal.role, type, action)) throw new IdentityError('forbidden', `Your role (${principal.role}) may not ${action} ${type}.`, { status: 403, expose: true });
      checkSmartScope(principal, type, action);
    },
    checkSearch(type, params) {
      const readable = new Set(grantOf(principal.role, type)?.read ?? []);
      for (const [rawName, value] of params) {
        const names = rawName === '_sort' ? value.split(',').map((v) => v.trim().replace(/^-/, '')) : [rawName.split(':')[0] as string];
        for (const name of names) {
          const dataClass = classOfParam(type, name);
          if (dataClass !== undefined && !readable.has(dataClass)) {
            throw new IdentityError('forbidden', `Your role (${principal.role}) may not search ${type} by ${name}: it reads ${dataClass} data.`, { status: 403, expose: true });
          }
        }
      }
    },
    async reach(t, subject, ref, reachOptions = {}) {
      // A patient who does not exist yet is nobody's: creating one discloses nothing (but an app
      // bound to its launch patient writes in that compartment only).
      if (reachOptions.newPatient === true && definition.scope === 'care' && !compartmentOnly(ref.split('/')[0] as string)) return;
      await admitOutside(t, [{ subject, ref }]);
      // A deny of every class stops any touch; a deny of some classes is applied where they are disclosed or written.
      if (reachOptions.newPatient !== true) await admitRules(t, subject, ref, reachOptions.action ?? 'read', ['internal']);
    },
    async disclose(t, item, discloseOptions = {}) {
      if (discloseOptions.inScope !== true) await admitOutside(t, [{ subject: item.subject, ref: `${item.type}/${item.id}` }]);
      const shown = redact(item);
      const rules = (await rulesOf(t, [shown.subject])).get(shown.subject);
      if (rules === undefined) return shown;
      const result = await ruled(rules, shown);
      // A write's own answer shows what the caller just wrote: its audit event already names the classes.
      if (result.redacted !== undefined && discloseOptions.inScope !== true) {
        await options.onPolicy?.({ kind: 'redacted', basis: result.redacted.consent, refs: [`${item.type}/${item.id}`], subjects: [item.subject], classes: result.redacted.classes });
      }
      return result.item;
    },
    async discloseAll<T extends Revealed>(t: TenantView, items: readonly T[]): Promise<T[]> {
      // Without break-the-glass the search SQL already kept to the scope.
      if (emergency !== undefined && definition.scope !== 'tenant') await admitOutside(t, items.map((i) => ({ subject: i.subject, ref: `${i.type}/${i.id}` })));
      const shown = items.map(redact);
      const rules = await rulesOf(t, shown.map((i) => i.subject));
      if (rules.size === 0) return shown;
      // Rows of a patient whose rules refuse this caller are withheld (a search is not refused for
      // everyone because of one patient); each withholding and redaction is audited by its basis.
      const kept: T[] = [];
      const effects = new Map<string, { kind: PolicyEffect['kind']; basis: string; refs: string[]; subjects: Set<string>; classes: Set<string> }>();
      const note = (kind: PolicyEffect['kind'], basis: string, item: Revealed, classes: readonly string[]) => {
        const key = `${kind} ${basis}`;
        const effect = effects.get(key) ?? { kind, basis, refs: [], subjects: new Set<string>(), classes: new Set<string>() };
        effect.refs.push(`${item.type}/${item.id}`);
        effect.subjects.add(item.subject);
        for (const c of classes) effect.classes.add(c);
        effects.set(key, effect);
      };
      for (const item of shown) {
        const itemRules = rules.get(item.subject);
        if (itemRules === undefined) {
          kept.push(item);
          continue;
        }
        try {
          const result = await ruled(itemRules, item);
          if (result.redacted !== undefined) note('redacted', result.redacted.consent, item, result.redacted.classes);
          kept.push(result.item);
        } catch (error) {
          if (!(error instanceof PolicyRefusal)) throw error;
          note('withheld', error.basis, item, []);
        }
      }
      for (const e of effects.values()) await options.onPolicy?.({ kind: e.kind, basis: e.basis, refs: e.refs, subjects: [...e.subjects], classes: [...e.classes].sort() });
      return kept;
    },
    async admit(t, type, target, body) {
      const grant = grantOf(principal.role, type);
      if (grant === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) return { body };
      const writable = new Set(grant.write);
      const fields = grant.fields === undefined ? undefined : new Set(grant.fields);
      const incoming = withoutOurTags(body as Record<string, unknown>);
      let current: Record<string, unknown> | undefined;
      let ifMatch: string | undefined;
      if (target.mode === 'create' && type !== 'Patient') {
        const subject = keySubjectOf(type, '-', { ...incoming, resourceType: type });
        const written = [...new Set(Object.keys(incoming).filter((k) => k !== 'resourceType' && k !== 'id').map((k) => classify(type, k)))];
        // Only a patient within reach: another's consents and restriction are none of this caller's business (reach refuses it next, or breaks the glass).
        if (await inReach(t, subject, type)) await admitRules(t, subject, type, 'create', written);
      }
      if (target.mode === 'update') {
        const peeked = await records.peek(t, type, target.id);
        // Deleted or not, a record outside reach stays out of reach (no re-creating it to open its history).
        if (peeked !== undefined) await admitOutside(t, [{ subject: peeked.subject, ref: `${type}/${target.id}` }]);
        // A change is refused whole when the patient's consents keep any class of it from this caller: it may not have seen what it would overwrite.
        if (peeked !== undefined) await admitRules(t, peeked.subject, `${type}/${target.id}`, 'update', [...classesOfType(type)]);
        if (peeked !== undefined && !peeked.deleted) {
          // Only a role that may not write every element of this type needs the stored values.
          if (fields !== undefined || ![...classesOfType(type)].every((c) => writable.has(c))) {
            const stored = await records.read(t, type, target.id);
            current = JSON.parse(stored.content) as Record<string, unknown>;
            ifMatch = `W/"${stored.versionId}"`;
          }
        } else if (!mayDo(principal.role, type, 'create')) {
          throw new IdentityError('forbidden', `Your role (${principal.role}) may not create ${type}.`, { status: 403, expose: true });
        }
      }
      // `meta` is free for roles without a field list (the store sets its version, the REDACTED tag is dropped above); with one, its labels are guarded like any element.
      const guarded = (key: string): boolean => (key === 'meta' ? fields !== undefined : !(key === 'resourceType' || key === 'id'));
      const mayWrite = (key: string): boolean => writable.has(classify(type, key)) && (fields === undefined || fields.has(key.replace(/^_/, '')));
      const unchanged = (key: string): boolean =>
        current !== undefined && (key === 'meta' ? isDeepStrictEqual(labelsOf(incoming[key]), labelsOf(current[key])) : isDeepStrictEqual(incoming[key], current[key]));
      const refused = Object.keys(incoming).filter((key) => guarded(key) && !mayWrite(key) && !unchanged(key));
      if (refused.length > 0) {
        const named = refused.map((k) => `${type}.${k}`).join(', ');
        const message =
          fields !== undefined
            ? `Your role (${principal.role}) may change only ${[...fields].join(', ')} of a ${type}, not ${named}.`
            : `Your role (${principal.role}) may not set or change ${named} (${[...new Set(refused.map((k) => classify(type, k)))].join(', ')} data).`;
        throw new IdentityError('forbidden', message, { status: 403, expose: true, issues: refused.map((k) => ({ expression: `${type}.${k}`, diagnostics: `${principal.role} may not change this element.` })) });
      }
      if (current === undefined) return { body: incoming };
      // What the role may not write stays as stored: it may not have seen it, and may not drop it.
      const merged: Record<string, unknown> = { ...incoming };
      for (const [key, value] of Object.entries(current)) if (!(key in incoming) && guarded(key) && !mayWrite(key)) merged[key] = value;
      return { body: merged, ...(ifMatch === undefined ? {} : { ifMatch }) };
    },
  };
}

/** A resource's `meta` without what the store sets on every version. */
function labelsOf(meta: unknown): unknown {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return meta ?? {};
  const { versionId: _v, lastUpdated: _l, ...labels } = meta as Record<string, unknown>;
  return labels;
}

/** An answer's resource with one more meta.security label (once). */
function tagged<T extends Revealed>(item: T, tag: { readonly system: string; readonly code: string; readonly display: string }): T {
  const resource = JSON.parse(item.content) as Record<string, unknown>;
  const meta = (resource['meta'] ?? {}) as Record<string, unknown>;
  const security = Array.isArray(meta['security']) ? (meta['security'] as unknown[]) : [];
  if (security.some((s) => isTag(s, tag))) return item;
  resource['meta'] = { ...meta, security: [...security, tag] };
  return { ...item, content: JSON.stringify(resource) };
}

/** The elements of these classes removed (a patient's consent), and the REDACTED label set. */
function withoutClasses<T extends Revealed>(item: T, classes: readonly string[]): T {
  const resource = JSON.parse(item.content) as Record<string, unknown>;
  for (const key of Object.keys(resource)) if (key !== 'meta' && key !== 'resourceType' && key !== 'id' && classes.includes(classify(item.type, key))) delete resource[key];
  return tagged({ ...item, content: JSON.stringify(resource), classes: item.classes.filter((c) => !classes.includes(c)) }, redactedTag);
}

const isTag = (value: unknown, tag: { readonly system: string; readonly code: string }): boolean =>
  value !== null && typeof value === 'object' && (value as Record<string, unknown>)['code'] === tag.code && (value as Record<string, unknown>)['system'] === tag.system;

/** The REDACTED and restricted-processing labels are ours to set on the way out, never stored from a client. */
function withoutOurTags(resource: Record<string, unknown>): Record<string, unknown> {
  const meta = resource['meta'];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return resource;
  const security = (meta as Record<string, unknown>)['security'];
  if (!Array.isArray(security)) return resource;
  const kept = security.filter((tag) => !isTag(tag, redactedTag) && !isTag(tag, restrictedTag));
  const { security: _dropped, ...rest } = meta as Record<string, unknown>;
  return { ...resource, meta: kept.length === 0 ? rest : { ...rest, security: kept } };
}
