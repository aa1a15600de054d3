import { BreachError } from './errors.js';
import { parseAddressRange } from './address-range.js';

/** Limits of a request, visible in one place. */
export const inputDefaults = {
  /** The longest window: a year and a bit, as far back as the default audit retention reaches. */
  maxWindowDays: 400,
  /** At most this many credentials or address ranges in one suspect. */
  maxValues: 100,
} as const;

/**
 * Who or what is suspected. Sessions are not a suspect of their own: the audit trail names the
 * account a session belongs to (`account:<id>`, client `session`), not the session, so a stolen
 * session is scoped as its account over the session's lifetime.
 */
export type Suspect =
  /** API keys by id (the actor id of their events). A key belongs to one tenant: several keys make a multi-tenant suspect. */
  | { readonly kind: 'api-key'; readonly values: readonly string[] }
  /** People's accounts by id (`account:<id>` in the trail): every way they came — session, app token. */
  | { readonly kind: 'account'; readonly values: readonly string[] }
  /** OAuth apps by client id: their own service tokens and every person's token issued to them. */
  | { readonly kind: 'client'; readonly values: readonly string[] }
  /** Source addresses, exact or CIDR, IPv4 or IPv6. */
  | { readonly kind: 'address'; readonly values: readonly string[] }
  /**
   * The raw database or backup files were exposed. `keysExposed`: the key store and the master
   * key went with them (then nothing sealed stays unintelligible).
   */
  | { readonly kind: 'raw-files'; readonly keysExposed: boolean };

export type SuspectKind = Suspect['kind'];

export interface ScopeInputs {
  /** Inclusive bounds, ms since the epoch; `to` is never later than the time of computation. */
  readonly from: number;
  readonly to: number;
  readonly suspect: Suspect;
  /** The tenants read, sorted; `all` in the request is resolved to the list at computation. */
  readonly tenants: readonly string[];
}

/** What a caller sends: ISO 8601 or ms times, and `all` or a list of tenants. */
export interface ScopeRequest {
  readonly from: string | number;
  readonly to: string | number;
  readonly suspect: unknown;
  readonly tenants: 'all' | readonly string[];
}

const invalid = (message: string) => new BreachError('scope-invalid', message, { status: 400 });

function timeOf(value: unknown, name: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalid(`"${name}" is a time: ISO 8601 (2026-12-01T00:00:00Z) or milliseconds since the epoch.`);
  return ms;
}

// Identifiers as Tresor issues them: letters, digits and a few separators; never a pattern.
const idPattern = /^[A-Za-z0-9._:@-]{1,200}$/;

function valuesOf(raw: Record<string, unknown>, kind: SuspectKind): string[] {
  const values = raw['values'];
  if (!Array.isArray(values) || values.length === 0 || values.length > inputDefaults.maxValues || !values.every((v) => typeof v === 'string')) {
    throw invalid(`"suspect.values" lists 1–${inputDefaults.maxValues} ${kind === 'address' ? 'addresses or CIDR ranges' : 'ids'}.`);
  }
  const list = [...new Set(values.map((v) => v.trim()))].sort();
  for (const value of list) {
    if (kind === 'address' ? parseAddressRange(value) === undefined : !idPattern.test(value)) throw invalid(`"suspect.values": ${kind === 'address' ? 'not an address or CIDR range' : 'not an id'}: ${JSON.stringify(value.slice(0, 60))}.`);
  }
  // An account id may be given with or without its `account:` prefix, a client's with `client:`.
  if (kind === 'account' || kind === 'client') return [...new Set(list.map((v) => v.replace(kind === 'account' ? /^account:/ : /^(client|oauth):/, '')))].sort();
  return list;
}

export function parseSuspect(raw: unknown): Suspect {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('"suspect" is an object: { "kind": "api-key" | "account" | "client" | "address" | "raw-files", … }.');
  const fields = raw as Record<string, unknown>;
  const kind = fields['kind'];
  switch (kind) {
    case 'api-key':
    case 'account':
    case 'client':
    case 'address':
      return { kind, values: valuesOf(fields, kind) };
    case 'raw-files': {
      const keysExposed = fields['keysExposed'] ?? false;
      if (typeof keysExposed !== 'boolean') throw invalid('"suspect.keysExposed" is true or false.');
      return { kind, keysExposed };
    }
    default:
      throw invalid('"suspect.kind" is one of api-key, account, client, address, raw-files (a session is scoped as its account).');
  }
}

/**
 * Checks a request and fixes its window: `to` is at most the millisecond before `now` (the
 * scope's own audit events come after it), so the same inputs read the same events whenever the
 * scope is derived again.
 */
export function parseRequest(request: ScopeRequest, now: number): { from: number; to: number; suspect: Suspect; tenants: 'all' | string[] } {
  const from = timeOf(request.from, 'from');
  const to = Math.min(timeOf(request.to, 'to'), now - 1);
  if (from > to) throw invalid('"from" is before "to" (and before now).');
  if (to - from > inputDefaults.maxWindowDays * 86_400_000) throw invalid(`The window is at most ${inputDefaults.maxWindowDays} days.`);
  const suspect = parseSuspect(request.suspect);
  const tenants = request.tenants;
  if (tenants === 'all') return { from, to, suspect, tenants };
  if (!Array.isArray(tenants) || tenants.length === 0 || !tenants.every((t) => typeof t === 'string' && idPattern.test(t))) throw invalid('"tenants" is "all" or a list of tenant ids.');
  return { from, to, suspect, tenants: [...new Set(tenants)].sort() };
}
