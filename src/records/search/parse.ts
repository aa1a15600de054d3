import type { ErrorIssue } from '../../platform/errors.js';
import { invalid } from '../errors.js';
import { parseDateRange, type DateRange } from '../fhir/dates.js';
import type { ResourceTypeDefinition, SearchParamDefinition } from '../resource-types.js';
import { parseCursor, type Cursor } from './cursor.js';
import { normaliseString } from './index-entries.js';

export type DatePrefix = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'sa' | 'eb';

export type Condition =
  | { readonly kind: 'token'; readonly system: string | null | undefined; readonly code: string | undefined }
  | { readonly kind: 'reference'; readonly targets: readonly string[] }
  | { readonly kind: 'date'; readonly prefix: DatePrefix; readonly range: DateRange }
  | { readonly kind: 'string'; readonly prefix: string };

export type Clause =
  | { readonly on: 'id'; readonly ids: readonly string[] }
  | { readonly on: 'lastUpdated'; readonly conditions: ReadonlyArray<Extract<Condition, { kind: 'date' }>> }
  | { readonly on: 'index'; readonly param: SearchParamDefinition; readonly conditions: readonly Condition[] };

export type SortKey = { readonly key: 'date' | 'lastUpdated' | 'id'; readonly descending: boolean };

/**
 * FHIR `_total` (R4 §3.1.1.5.8). `bounded`, when the client names none: exact up to the count
 * bound, left out beyond it (R4 lets a server omit the total; counting 100,000 matches would cost
 * more than the page).
 */
export type TotalMode = 'none' | 'bounded' | 'estimate' | 'accurate';

export interface SearchQuery {
  readonly type: string;
  /** ANDed; each clause ORs its conditions (R4 §3.1.1.5.5). */
  readonly clauses: readonly Clause[];
  readonly sort: readonly SortKey[];
  readonly count: number;
  readonly offset: number;
  /** Keyset paging: the page starts after this record (only with at most one sort key). */
  readonly cursor: Cursor | undefined;
  readonly total: TotalMode;
  /** The parameters that were applied, as the self link repeats them. */
  readonly applied: ReadonlyArray<readonly [string, string]>;
}

export type Digest = (param: string, value: string) => string;

export interface SearchLimits {
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

const maxOffset = 100_000;
const maxValuesPerParam = 100;
// Every parameter is an AND-ed condition and every value an OR-ed term of the query the engine
// parses; unbounded, a thousand of them exceed SQLite's expression depth (a 500). No real
// search needs more than these.
const maxParams = 50;
const maxTerms = 200;
const datePrefixes = new Set<DatePrefix>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb']);
const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** Splits on unescaped commas and unescapes `\,` `\|` `\$` `\\` (R4 §3.1.1.5.7). */
function splitValues(raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i] as string;
    if (ch === '\\' && i + 1 < raw.length) {
      current += `\\${raw[i + 1] as string}`;
      i += 1;
    } else if (ch === ',') {
      values.push(current);
      current = '';
    } else current += ch;
  }
  values.push(current);
  return values;
}

function unescape(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

/**
 * A token's system as the index stores it. A `code` element has no system of its own: the code
 * system of its required value set is implicit (R4 §3.1.1.4.10 token search), so naming it is the
 * same as naming none, and the index holds such codes without a system.
 */
function indexedSystem(param: SearchParamDefinition, system: string): string | null {
  return system === '' || system === param.codeSystem ? null : system;
}

function splitToken(value: string): [string | undefined, string] {
  for (let i = 0; i < value.length; i += 1) {
    if (value[i] === '\\') i += 1;
    else if (value[i] === '|') return [unescape(value.slice(0, i)), unescape(value.slice(i + 1))];
  }
  return [undefined, unescape(value)];
}

function parseDateCondition(raw: string, name: string, issues: ErrorIssue[]): Extract<Condition, { kind: 'date' }> | undefined {
  const prefix = /^[a-z]{2}/.test(raw) ? raw.slice(0, 2) : 'eq';
  const rest = /^[a-z]{2}/.test(raw) ? raw.slice(2) : raw;
  if (!datePrefixes.has(prefix as DatePrefix)) {
    issues.push({ expression: name, diagnostics: `Unsupported date prefix "${prefix}"; use eq, ne, lt, le, gt, ge, sa or eb.` });
    return undefined;
  }
  const range = parseDateRange(rest);
  if (range === undefined) {
    issues.push({ expression: name, diagnostics: 'Not a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]).' });
    return undefined;
  }
  return { kind: 'date', prefix: prefix as DatePrefix, range };
}

/** Personal parameters are blind indexes: the query value is digested and matched exactly. */
function parseBlindCondition(param: SearchParamDefinition, value: string, name: string, issues: ErrorIssue[], digest: Digest): Condition | undefined {
  switch (param.type) {
    case 'token': {
      const [system, code] = splitToken(value);
      const digested = code === '' ? undefined : digest(param.name, code);
      if (system === undefined) return digested === undefined ? undefined : { kind: 'token', system: undefined, code: digested };
      return { kind: 'token', system: indexedSystem(param, system), code: digested };
    }
    case 'string': {
      const part = normaliseString(unescape(value));
      return part === '' ? undefined : { kind: 'token', system: undefined, code: digest(param.name, part) };
    }
    case 'date': {
      const plain = value.startsWith('eq') ? value.slice(2) : value;
      if (!/^\d{4}(-\d{2}(-\d{2})?)?$/.test(plain) || parseDateRange(plain) === undefined) {
        issues.push({ expression: name, diagnostics: `${param.name} is encrypted: search an exact YYYY, YYYY-MM or YYYY-MM-DD (no ranges).` });
        return undefined;
      }
      return { kind: 'token', system: undefined, code: digest(param.name, plain) };
    }
    case 'reference':
      return parseCondition(param, value, name, issues);
  }
}

function parseCondition(param: SearchParamDefinition, value: string, name: string, issues: ErrorIssue[]): Condition | undefined {
  switch (param.type) {
    case 'token': {
      const [system, code] = splitToken(value);
      if (system === undefined) return code === '' ? undefined : { kind: 'token', system: undefined, code };
      return { kind: 'token', system: indexedSystem(param, system), code: code === '' ? undefined : code };
    }
    case 'reference': {
      const plain = unescape(value);
      const targets = param.targets ?? [];
      const typed = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(plain);
      if (typed !== null && targets.includes(typed[1] as string)) return { kind: 'reference', targets: [plain] };
      if (idPattern.test(plain)) return { kind: 'reference', targets: targets.map((type) => `${type}/${plain}`) };
      issues.push({ expression: name, diagnostics: `Expected an id or ${targets.join('|')}/id.` });
      return undefined;
    }
    case 'date':
      return parseDateCondition(value, name, issues);
    case 'string': {
      const prefix = normaliseString(unescape(value));
      return prefix === '' ? undefined : { kind: 'string', prefix };
    }
  }
}

/**
 * A reference search value as a local `Type/id`: an absolute URL is accepted when it is on this
 * server's FHIR base for the tenant (R4 §3.1.1.4.11: `[url]` matches where the base is the
 * server's own). A URL on any other base names a resource this server does not hold: refused,
 * so a client's wrong base shows as an error instead of an empty result.
 */
function localReference(value: string, bases: readonly string[], name: string, issues: ErrorIssue[]): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return value;
  for (const base of bases) if (value.startsWith(`${base}/`)) return value.slice(base.length + 1);
  issues.push({ expression: name, diagnostics: `Not a reference on this server's FHIR base${bases[0] === undefined ? '' : ` (${bases[0]})`}; use Type/id, an id, or a URL on that base.` });
  return undefined;
}

function parseInteger(raw: string, name: string, min: number, max: number, issues: ErrorIssue[]): number | undefined {
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    issues.push({ expression: name, diagnostics: `Must be a whole number from ${min} to ${max}.` });
    return undefined;
  }
  return Number(raw);
}

/**
 * Turns query parameters into a validated search. Unknown parameters and modifiers are errors
 * (400) unless the client sent `Prefer: handling=lenient` (R4 §3.1.1.2), then they are dropped
 * and left out of the self link.
 */
export function parseSearch(
  definition: ResourceTypeDefinition,
  params: ReadonlyArray<readonly [string, string]>,
  limits: SearchLimits,
  lenient: boolean,
  digest: Digest,
  /** This tenant's FHIR base URLs (no trailing slash): absolute references on them are local. */
  bases: readonly string[] = [],
): SearchQuery {
  const issues: ErrorIssue[] = [];
  const clauses: Clause[] = [];
  const applied: Array<readonly [string, string]> = [];
  let sort: SortKey[] = [];
  let count = limits.defaultPageSize;
  let offset = 0;
  let cursor: Cursor | undefined;
  let total: TotalMode = 'bounded';

  if (params.length > maxParams) {
    throw invalid('search-invalid', 'The search could not be understood.', [{ diagnostics: `At most ${maxParams} search parameters.` }]);
  }
  let terms = 0;
  for (const [name, rawValue] of params) {
    const [base, modifier] = name.split(':', 2) as [string, string | undefined];
    if (rawValue.length > 2048) {
      issues.push({ expression: base, diagnostics: 'Value too long.' });
      continue;
    }
    switch (base) {
      case '_count': {
        const value = parseInteger(rawValue, name, 0, limits.maxPageSize, issues);
        if (value !== undefined) count = value;
        continue;
      }
      case '_offset': {
        const value = parseInteger(rawValue, name, 0, maxOffset, issues);
        if (value !== undefined) offset = value;
        continue;
      }
      case '_cursor':
        cursor = parseCursor(rawValue);
        if (cursor === undefined) issues.push({ expression: name, diagnostics: 'Not a cursor of this server; follow the next link as given.' });
        continue;
      case '_total':
        if (rawValue === 'none' || rawValue === 'accurate' || rawValue === 'estimate') total = rawValue;
        else issues.push({ expression: name, diagnostics: 'Use none, estimate or accurate.' });
        // The next link keeps the mode, so that every page counts alike.
        applied.push([name, rawValue]);
        continue;
      case '_format':
        if (!/^(json|application\/(fhir\+)?json)$/.test(rawValue)) issues.push({ expression: name, diagnostics: 'Only JSON is served.' });
        continue;
      case '_sort': {
        sort = [];
        for (const part of rawValue.split(',')) {
          const descending = part.startsWith('-');
          const key = descending ? part.slice(1) : part;
          if (key === '_lastUpdated') sort.push({ key: 'lastUpdated', descending });
          else if (key === '_id') sort.push({ key: 'id', descending });
          else if (key !== '' && key === definition.sortDate) sort.push({ key: 'date', descending });
          else issues.push({ expression: '_sort', diagnostics: `Cannot sort ${definition.type} by "${key}"; use _lastUpdated, _id${definition.sortDate ? ` or ${definition.sortDate}` : ''}.` });
        }
        // The next link must repeat the order, or pages would overlap.
        applied.push([name, rawValue]);
        continue;
      }
    }
    const values = splitValues(rawValue);
    if (values.length > maxValuesPerParam) {
      issues.push({ expression: base, diagnostics: `At most ${maxValuesPerParam} values.` });
      continue;
    }
    terms += values.length;
    if (terms > maxTerms) {
      issues.push({ expression: base, diagnostics: `At most ${maxTerms} values in all parameters together.` });
      break;
    }
    if (base === '_id' || base === '_lastUpdated') {
      if (modifier !== undefined) {
        issues.push({ expression: name, diagnostics: `Modifier :${modifier} is not supported.` });
        continue;
      }
      if (base === '_id') {
        const ids = values.map(unescape);
        if (ids.some((id) => !idPattern.test(id))) issues.push({ expression: '_id', diagnostics: 'Not a FHIR id.' });
        else clauses.push({ on: 'id', ids });
      } else {
        const conditions = values.map((value) => parseDateCondition(value, base, issues));
        if (conditions.every((c) => c !== undefined)) clauses.push({ on: 'lastUpdated', conditions });
      }
      applied.push([name, rawValue]);
      continue;
    }
    const param = definition.searchParams.find((p) => p.name === base);
    if (param === undefined) {
      if (!lenient) issues.push({ expression: base, diagnostics: `Unknown search parameter for ${definition.type}; see the CapabilityStatement at metadata.` });
      continue;
    }
    if (modifier !== undefined) {
      issues.push({ expression: name, diagnostics: `Modifier :${modifier} is not supported.` });
      continue;
    }
    const conditions = (param.type === 'reference' ? values.flatMap((value) => localReference(value, bases, base, issues) ?? []) : values)
      .map((value) => (param.blind ? parseBlindCondition(param, value, base, issues, digest) : parseCondition(param, value, base, issues)))
      .filter((c): c is Condition => c !== undefined);
    if (conditions.length === 0) {
      if (!issues.some((issue) => issue.expression === base)) issues.push({ expression: base, diagnostics: 'Empty value.' });
      continue;
    }
    clauses.push({ on: 'index', param, conditions });
    applied.push([name, rawValue]);
  }
  if (cursor !== undefined) {
    const key = sort.length === 0 ? 'lastUpdated' : sort.length === 1 ? (sort[0] as SortKey).key : undefined;
    if (offset > 0) issues.push({ expression: '_cursor', diagnostics: 'Use either _cursor or _offset.' });
    else if (key !== cursor.key) issues.push({ expression: '_cursor', diagnostics: 'The cursor belongs to another sort order; follow the next link as given.' });
  }
  if (issues.length > 0) throw invalid('search-invalid', 'The search could not be understood.', issues);
  return { type: definition.type, clauses, sort, count, offset, cursor, total, applied };
}
