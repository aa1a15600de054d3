import { parseDateRange, periodRange, type DateRange } from '../fhir/dates.js';

/**
 * One row of the search index: what a search parameter sees in a resource. Tokens keep
 * `system` and `value`; references keep `Type/id` in `value`; dates keep a closed range;
 * strings keep a normalised form. The encryption issue swaps `value` for a keyed blind index.
 */
export interface IndexEntry {
  readonly param: string;
  readonly system: string | null;
  readonly value: string | null;
  readonly low: number | null;
  readonly high: number | null;
}

type Json = Record<string, unknown>;

export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);
export const asObject = (value: unknown): Json | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);
export const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

// Letters that Unicode does not decompose into a base letter plus a mark.
const folds: Readonly<Record<string, string>> = { ø: 'o', æ: 'ae', œ: 'oe', ß: 'ss', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** Lowercase, accents removed, white space folded: "Müller " and "muller" match (R4 §3.1.1.4.7). */
export function normaliseString(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[øæœßłđðþı]/g, (ch) => folds[ch] ?? ch)
    .replace(/\s+/g, ' ')
    .trim();
}

export function tokenEntries(param: string, value: unknown): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const item of asArray(value)) {
    if (typeof item === 'string') {
      entries.push({ param, system: null, value: item, low: null, high: null });
      continue;
    }
    const object = asObject(item);
    if (object === undefined) continue;
    // CodeableConcept → its codings; Coding and Identifier carry system + code/value.
    if (Array.isArray(object['coding'])) {
      entries.push(...tokenEntries(param, object['coding']));
      continue;
    }
    const code = asString(object['code']) ?? asString(object['value']);
    if (code !== undefined) entries.push({ param, system: asString(object['system']) ?? null, value: code, low: null, high: null });
  }
  return entries;
}

/** Literal relative references `Type/id` (or `Type/id/_history/n`) to one of `targets`. */
export function referenceEntries(param: string, value: unknown, targets: readonly string[]): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const item of asArray(value)) {
    const target = parseLocalReference(asString(asObject(item)?.['reference']));
    if (target !== undefined && targets.includes(target.type)) {
      entries.push({ param, system: null, value: `${target.type}/${target.id}`, low: null, high: null });
    }
  }
  return entries;
}

const localReference = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

export function parseLocalReference(reference: string | undefined): { type: string; id: string } | undefined {
  if (reference === undefined) return undefined;
  const m = localReference.exec(reference);
  return m === null ? undefined : { type: m[1] as string, id: m[2] as string };
}

/** `raw` keeps the date's text for parameters that are blinded by precision (birthdate). */
export function dateEntries(param: string, range: DateRange | undefined, raw?: string): IndexEntry[] {
  return range === undefined ? [] : [{ param, system: null, value: raw ?? null, low: range.low, high: range.high }];
}

/** The range of a choice-typed `value[x]`-style element: dateTime, instant, date or Period. */
export function choiceDateRange(resource: Json, prefix: string): DateRange | undefined {
  for (const suffix of ['DateTime', 'Instant', 'Date']) {
    const text = asString(resource[`${prefix}${suffix}`]);
    if (text !== undefined) return parseDateRange(text);
  }
  const period = asObject(resource[`${prefix}Period`]);
  return period === undefined ? undefined : periodRange(asString(period['start']), asString(period['end']));
}

export function stringEntries(param: string, values: Iterable<string | undefined>): IndexEntry[] {
  const seen = new Set<string>();
  for (const value of values) {
    if (value === undefined) continue;
    const normalised = normaliseString(value);
    if (normalised.length > 0) seen.add(normalised);
  }
  return [...seen].map((value) => ({ param, system: null, value, low: null, high: null }));
}

/** Every part of every HumanName, each searchable on its own (R4 Patient `name`). */
export function* humanNameParts(names: unknown): Generator<string | undefined> {
  for (const name of asArray(names)) {
    const object = asObject(name);
    if (object === undefined) continue;
    yield asString(object['family']);
    for (const part of ['given', 'prefix', 'suffix']) for (const item of asArray(object[part])) yield asString(item);
    const text = asString(object['text']);
    if (text !== undefined) {
      yield text;
      for (const word of text.split(/\s+/)) yield word;
    }
  }
}
