import { createHash } from 'node:crypto';
import type { ScopeInputs } from './inputs.js';

/** The version of the scope's shape and of its hash's canonical form. */
export const scopeFormat = 'tresor-breach-scope/1';

/**
 * How data reached the suspect. `in-clear`: the API answered it decrypted (a successful read,
 * search, history, export or Bundle). `ciphertext-only`: it was only in files the suspect held,
 * sealed under keys that were not exposed.
 */
export type Disclosure = 'in-clear' | 'ciphertext-only';

export interface PatientAccess {
  /** `Patient/<id>`. */
  readonly patient: string;
  readonly disclosure: Disclosure;
  /** First and last disclosure, ms since the epoch; null for file exposure (no access is recorded). */
  readonly first: number | null;
  readonly last: number | null;
  /** Events that disclosed this patient's data (0 for file exposure). */
  readonly accesses: number;
  /**
   * Data classes disclosed in clear. An event of several patients (a search) lists the classes of
   * all its resources, so for such events this is an upper bound for each patient.
   */
  readonly classes: readonly string[];
}

export interface TenantScope {
  readonly tenantId: string;
  /** The audit trail's events read: their count and first/last sequence number (null: none in the window). */
  readonly trail: { readonly events: number; readonly firstSeq: number | null; readonly lastSeq: number | null };
  readonly patients: { readonly count: number; readonly truncated: boolean; readonly list: readonly PatientAccess[] };
  /** `Type/<id>` of every record disclosed (any version). */
  readonly records: { readonly count: number; readonly truncated: boolean; readonly list: readonly string[] };
  readonly classes: { readonly inClear: readonly string[]; readonly ciphertextOnly: readonly string[] };
  /** Refused or failed requests of the suspect: not disclosures, but evidence of intent. */
  readonly attempts: { readonly count: number; readonly first: number | null; readonly last: number | null; readonly byAction: Readonly<Record<string, number>> };
  /** Records the suspect created, changed or deleted (integrity, not confidentiality). */
  readonly changes: { readonly count: number; readonly records: number };
  /** Why: the events behind each conclusion by action, the classes found sealed, and the rules applied. */
  readonly reasoning: {
    readonly disclosedBy: Readonly<Record<string, number>>;
    readonly otherEvents: Readonly<Record<string, number>>;
    readonly sealedClasses: readonly string[];
    readonly rules: readonly string[];
  };
}

export interface Scope {
  readonly format: typeof scopeFormat;
  readonly inputs: ScopeInputs;
  readonly tenants: readonly TenantScope[];
  readonly totals: { readonly tenants: number; readonly patients: number; readonly records: number; readonly attempts: number; readonly inClear: boolean };
  /** Not hashed: when and how fast this copy was computed. */
  readonly computedAt: number;
  readonly durationMs: number;
  /** SHA-256 (hex) of `canonicalJson({ format, inputs, tenants, totals })`. */
  readonly hash: string;
}

/**
 * JSON with every object's keys sorted (by UTF-16 code units) and no white space, arrays in
 * their order: the same value always gives the same bytes (the idea of RFC 8785, for the values
 * a scope holds — strings, safe integers, booleans, null).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of what a scope says (its inputs and results), never of when it was computed. */
export function scopeHash(scope: Pick<Scope, 'format' | 'inputs' | 'tenants' | 'totals'>): string {
  const { format, inputs, tenants, totals } = scope;
  return createHash('sha256').update(canonicalJson({ format, inputs, tenants, totals }), 'utf8').digest('hex');
}

export function totalsOf(tenants: readonly TenantScope[]): Scope['totals'] {
  return {
    tenants: tenants.filter((t) => t.patients.count > 0 || t.records.count > 0).length,
    patients: tenants.reduce((n, t) => n + t.patients.count, 0),
    records: tenants.reduce((n, t) => n + t.records.count, 0),
    attempts: tenants.reduce((n, t) => n + t.attempts.count, 0),
    inClear: tenants.some((t) => t.classes.inClear.length > 0),
  };
}
