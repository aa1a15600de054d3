import { appSystem, consentClasses, consentScopeSystem, dataClassSystem, roleSystem, type ActiveConsent, type ConsentAction, type ConsentActor, type ConsentClass, type Provision } from './consent-decide.js';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const codings = (concept: unknown): Json[] =>
  asArray(asObject(concept)?.['coding']).flatMap((c) => {
    const coding = asObject(c);
    return coding === undefined ? [] : [coding];
  });

const consentActions: readonly ConsentAction[] = ['access', 'use', 'disclose', 'correct', 'collect'];

/** An R4 dateTime or date as epoch ms: a date's start, or (for a period's end) its last millisecond. */
function instant(value: unknown, end: boolean): number | undefined {
  const text = asString(value);
  if (text === undefined) return undefined;
  const at = Date.parse(/^\d{4}(-\d{2}){0,2}$/.test(text) ? `${text.padEnd(10, '-01').slice(0, 10)}T00:00:00Z` : text);
  if (Number.isNaN(at)) return undefined;
  return end && /^\d{4}-\d{2}-\d{2}$/.test(text) ? at + 86_400_000 - 1 : at;
}

function periodOf(value: unknown): { start?: number; end?: number } {
  const period = asObject(value);
  const start = instant(period?.['start'], false);
  const end = instant(period?.['end'], true);
  return { ...(start === undefined ? {} : { start }), ...(end === undefined ? {} : { end }) };
}

/**
 * A provision's actor: a Practitioner (`reference.reference` `Practitioner/<id>`), an OAuth app
 * (`reference.identifier` with the app system and the client id), or a Tresor role (a coding of
 * the role system in `role`, the reference left without a target). Anyone else (an Organization,
 * a RelatedPerson) is a party Tresor cannot recognise among its callers: it matches no caller.
 */
function actorOf(value: unknown): ConsentActor | { kind: 'unknown' } {
  const actor = asObject(value);
  const reference = asObject(actor?.['reference']);
  const target = asString(reference?.['reference']);
  const practitioner = target === undefined ? null : /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(target);
  if (practitioner !== null) return { kind: 'practitioner', id: practitioner[1] as string };
  const identifier = asObject(reference?.['identifier']);
  if (target === undefined && asString(identifier?.['system']) === appSystem && asString(identifier?.['value']) !== undefined) return { kind: 'app', client: identifier?.['value'] as string };
  const role = codings(actor?.['role']).find((c) => c['system'] === roleSystem && typeof c['code'] === 'string');
  if (target === undefined && role !== undefined) return { kind: 'role', role: role['code'] as string };
  return { kind: 'unknown' };
}

function provisionOf(value: unknown): Provision {
  const p = asObject(value) ?? {};
  const actors = asArray(p['actor']).map(actorOf);
  const classCodes = asArray(p['class']).flatMap((c) => {
    const coding = asObject(c);
    return coding?.['system'] === dataClassSystem && typeof coding['code'] === 'string' ? [coding['code']] : ['-unknown-'];
  });
  return {
    // A provision without a type denies: the safer reading of an incomplete rule.
    type: p['type'] === 'permit' ? 'permit' : 'deny',
    ...periodOf(p['period']),
    // An unknown actor stays in the list so that the rule does not widen to everyone.
    actors: actors.map((a) => (a.kind === 'unknown' ? { kind: 'practitioner' as const, id: '\u0000' } : a)),
    actions: asArray(p['action']).flatMap((a) => codings(a).flatMap((c) => (consentActions as readonly unknown[]).includes(c['code']) ? [c['code'] as ConsentAction] : [])),
    purposes: asArray(p['purpose']).flatMap((c) => (typeof asObject(c)?.['code'] === 'string' ? [asObject(c)?.['code'] as string] : [])),
    // Likewise an unknown class code keeps the rule to nothing rather than to every class.
    classes: classCodes.map((c) => ((consentClasses as readonly string[]).includes(c as string) ? (c as ConsentClass) : ('-unknown-' as ConsentClass))),
    provisions: asArray(p['provision']).map(provisionOf),
  };
}

/** Whether a Consent is a privacy consent Tresor enforces: scope `patient-privacy`, status `active`. */
export function isPrivacyConsent(resource: Json): boolean {
  return resource['status'] === 'active' && codings(resource['scope']).some((c) => c['code'] === 'patient-privacy' && (c['system'] === undefined || c['system'] === consentScopeSystem));
}

/**
 * A stored Consent as the decision function reads it, or undefined when it decides nothing
 * (another scope; proposed, rejected, inactive or entered-in-error; no provision).
 */
export function parseConsent(id: string, resource: Json): ActiveConsent | undefined {
  if (!isPrivacyConsent(resource) || asObject(resource['provision']) === undefined) return undefined;
  const provision = provisionOf(resource['provision']);
  return { ref: `Consent/${id}`, ...(provision.start === undefined ? {} : { start: provision.start }), ...(provision.end === undefined ? {} : { end: provision.end }), provision };
}
