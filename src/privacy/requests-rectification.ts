import { invalidRequest } from './requests-errors.js';
import { rectifiableElements, rectificationTag, type ProposedChanges, type RectifiableElement } from './requests-types.js';

/** The portal's rectification form: one field per value a patient may propose (GDPR Art. 16). */
export const rectificationFields = ['family', 'given', 'phone', 'email', 'line', 'city', 'postalCode', 'country', 'birthDate', 'gender', 'language'] as const;
export type RectificationField = (typeof rectificationFields)[number];

const genders = ['male', 'female', 'other', 'unknown'] as const;
const maxField = 200;

function field(form: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = form[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${name}: text`);
  const text = value.normalize('NFC').trim();
  if (text.length > maxField || /\p{Cc}/u.test(text)) throw invalidRequest(`${name}: at most ${maxField} printable characters`);
  return text === '' ? undefined : text;
}

/**
 * The proposed values of a rectification as FHIR R4 Patient elements, from the form's fields
 * (empty fields propose nothing). The elements replace the stored ones when staff accept.
 */
export function changesFromForm(form: Readonly<Record<string, unknown>>): ProposedChanges {
  const v = Object.fromEntries(rectificationFields.map((name) => [name, field(form, name)])) as Record<RectificationField, string | undefined>;
  const changes: Record<string, unknown> = {};
  if (v.family !== undefined || v.given !== undefined) changes['name'] = [{ use: 'official', ...(v.family === undefined ? {} : { family: v.family }), ...(v.given === undefined ? {} : { given: v.given.split(/\s+/) }) }];
  const telecom = [...(v.phone === undefined ? [] : [{ system: 'phone', value: v.phone }]), ...(v.email === undefined ? [] : [{ system: 'email', value: v.email }])];
  if (telecom.length > 0) changes['telecom'] = telecom;
  if (v.line !== undefined || v.city !== undefined || v.postalCode !== undefined || v.country !== undefined) {
    changes['address'] = [{ ...(v.line === undefined ? {} : { line: [v.line] }), ...(v.city === undefined ? {} : { city: v.city }), ...(v.postalCode === undefined ? {} : { postalCode: v.postalCode }), ...(v.country === undefined ? {} : { country: v.country }) }];
  }
  if (v.birthDate !== undefined) changes['birthDate'] = v.birthDate;
  if (v.gender !== undefined) changes['gender'] = v.gender;
  if (v.language !== undefined) changes['communication'] = [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: v.language }], text: v.language }, preferred: true }];
  return checkChanges(changes);
}

/**
 * Proposed changes as given over the API (the same elements, as FHIR JSON): only the elements a
 * rectification may touch, each of the right shape. The records layer validates the whole
 * Patient against the R4 schema again when staff accept.
 */
export function checkChanges(value: unknown): ProposedChanges {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('changes: an object of Patient elements');
  const entries = Object.entries(value as Record<string, unknown>);
  const unknown = entries.filter(([key]) => !(rectifiableElements as readonly string[]).includes(key)).map(([key]) => key);
  if (unknown.length > 0) throw invalidRequest(`changes: only ${rectifiableElements.join(', ')} may be proposed, not ${unknown.join(', ')}`);
  if (JSON.stringify(value).length > 8_000) throw invalidRequest('changes: at most 8,000 characters');
  for (const [key, element] of entries as Array<[RectifiableElement, unknown]>) {
    if (key === 'birthDate') {
      if (typeof element !== 'string' || !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(element)) throw invalidRequest('birthDate: a date (YYYY-MM-DD)');
    } else if (key === 'gender') {
      if (!(genders as readonly unknown[]).includes(element)) throw invalidRequest(`gender: one of ${genders.join(', ')}`);
    } else if (!Array.isArray(element) || element.length === 0 || element.length > 10 || !element.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e))) {
      throw invalidRequest(`${key}: a list of 1–10 FHIR ${key} objects`);
    }
  }
  return value as ProposedChanges;
}

type Json = Record<string, unknown>;
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);

/**
 * What a proposed element becomes against the stored one: a name or an address proposed in part
 * (a family name alone, a city alone) corrects the first stored one and keeps its other parts;
 * a phone number or an e-mail address replaces the stored ones of its kind and keeps the others;
 * anything else replaces the element.
 */
export function mergedElement(element: RectifiableElement, current: unknown, proposed: unknown): unknown {
  if (element === 'name' || element === 'address') {
    const [first, ...rest] = list(current);
    const [change, ...more] = list(proposed);
    if (change === undefined) return proposed;
    return [{ ...(first ?? {}), ...change }, ...more, ...rest];
  }
  if (element === 'telecom') {
    const systems = new Set(list(proposed).map((t) => t['system']));
    return [...list(current).filter((t) => !systems.has(t['system'])), ...list(proposed)];
  }
  return proposed;
}

/** The Patient as it will be stored when a rectification is accepted: the proposed elements merged in (`mergedElement`), and the version tagged. */
export function rectified(current: Readonly<Json>, changes: ProposedChanges): Json {
  const meta = (current['meta'] ?? {}) as Json;
  const tags = list(meta['tag']).filter((t) => !(t['system'] === rectificationTag.system && t['code'] === rectificationTag.code));
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...keptMeta } = meta;
  const merged = Object.fromEntries(Object.entries(changes).map(([element, value]) => [element, mergedElement(element as RectifiableElement, current[element], value)]));
  return { ...current, ...merged, meta: { ...keptMeta, tag: [...tags, { ...rectificationTag }] } };
}

/** A proposed or current element as one line of text, for the side-by-side view. */
export function elementText(element: unknown): string {
  if (element === undefined || element === null) return '—';
  if (typeof element === 'string') return element;
  if (!Array.isArray(element)) return JSON.stringify(element);
  return element
    .map((e: Record<string, unknown>) => {
      if (typeof e['family'] === 'string' || Array.isArray(e['given'])) return [...((e['given'] as string[] | undefined) ?? []), e['family'] ?? ''].join(' ').trim();
      if (typeof e['value'] === 'string') return `${String(e['system'] ?? '')}: ${e['value']}`;
      if (Array.isArray(e['line']) || typeof e['city'] === 'string') return [...((e['line'] as string[] | undefined) ?? []), e['postalCode'], e['city'], e['country']].filter((p) => typeof p === 'string' && p !== '').join(', ');
      const language = e['language'] as { text?: string; coding?: Array<{ code?: string }> } | undefined;
      if (language !== undefined) return language.text ?? language.coding?.[0]?.code ?? '';
      return JSON.stringify(e);
    })
    .join('; ');
}
