import { isDeepStrictEqual } from 'node:util';
import { grantOf, hasCapability, IdentityError, matrix, mayDo, type Principal, type RecordAction } from '../identity/index.js';
import { tenantSubject } from '../keys/index.js';
import { classify, dataRegister, type DataClass } from './data-register.js';
import type { Disclosure, Records, TenantView } from './records.js';
import { resourceTypeDefinition } from './resource-types.js';
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
 */
export interface RecordGuard {
  allow(type: string, action: RecordAction): void;
  /** Search parameters and sort keys on elements the role cannot see would reveal them by filtering. */
  checkSearch(type: string, params: ReadonlyArray<readonly [string, string]>): void;
  /** The SQL restriction of this caller's searches of a type. */
  scopeOf(type: string): RecordScope;
  /** Throws 403 unless the subject (`Patient/<id>` or `_tenant`) is within reach; break-the-glass grants are recorded. */
  reach(t: TenantView, subject: string, ref: string, options?: { readonly newPatient?: boolean }): Promise<void>;
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
}

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

  function redact<T extends Revealed>(item: T): T {
    const readable = new Set(grantOf(principal.role, item.type)?.read ?? []);
    if (item.classes.every((c) => readable.has(c))) return item;
    const resource = JSON.parse(item.content) as Record<string, unknown>;
    for (const key of Object.keys(resource)) if (!readable.has(classify(item.type, key))) delete resource[key];
    const meta = (resource['meta'] ?? {}) as Record<string, unknown>;
    resource['meta'] = { ...meta, security: [...(Array.isArray(meta['security']) ? meta['security'] : []), redactedTag] };
    return { ...item, content: JSON.stringify(resource), classes: item.classes.filter((c) => readable.has(c)) };
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
    },
    async disclose(t, item, discloseOptions = {}) {
      if (discloseOptions.inScope !== true) await admitOutside(t, [{ subject: item.subject, ref: `${item.type}/${item.id}` }]);
      return redact(item);
    },
    async discloseAll(t, items) {
      // Without break-the-glass the search SQL already kept to the scope.
      if (emergency !== undefined && definition.scope !== 'tenant') await admitOutside(t, items.map((i) => ({ subject: i.subject, ref: `${i.type}/${i.id}` })));
      return items.map(redact);
    },
    async admit(t, type, target, body) {
      const grant = grantOf(principal.role, type);
      if (grant === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) return { body };
      const writable = new Set(grant.write);
      const fields = grant.fields === undefined ? undefined : new Set(grant.fields);
      const incoming = withoutRedactedTag(body as Record<string, unknown>);
      let current: Record<string, unknown> | undefined;
      let ifMatch: string | undefined;
      if (target.mode === 'update') {
        const peeked = await records.peek(t, type, target.id);
        // Deleted or not, a record outside reach stays out of reach (no re-creating it to open its history).
        if (peeked !== undefined) await admitOutside(t, [{ subject: peeked.subject, ref: `${type}/${target.id}` }]);
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

/** The REDACTED tag is ours to set on the way out, never stored from a client. */
function withoutRedactedTag(resource: Record<string, unknown>): Record<string, unknown> {
  const meta = resource['meta'];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return resource;
  const security = (meta as Record<string, unknown>)['security'];
  if (!Array.isArray(security)) return resource;
  const kept = security.filter((tag) => !(tag !== null && typeof tag === 'object' && (tag as Record<string, unknown>)['code'] === redactedTag.code && (tag as Record<string, unknown>)['system'] === redactedTag.system));
  const { security: _dropped, ...rest } = meta as Record<string, unknown>;
  return { ...resource, meta: kept.length === 0 ? rest : { ...rest, security: kept } };
}
