import { severities, type Severity } from '../detection/index.js';
import { invalid, IncidentError } from './errors.js';
import { incidentStates, isIncidentState, type IncidentState } from './states.js';

/** Limits of what people type: enough for the work, small enough that nobody stores files in it. */
export const limits = { title: 200, text: 8_000, tenants: 200, alerts: 50 } as const;

export type Body = Record<string, unknown>;

const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const alertRefPattern = /^([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export function known(body: Body, names: readonly string[], what: string): void {
  for (const name of Object.keys(body)) if (!names.includes(name)) throw invalid(`${name}: not a field of ${what} (${names.join(', ')})`);
}

export function text(body: Body, name: string, options: { required?: boolean; max?: number } = {}): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (options.required === true) throw invalid(`${name}: required`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(`${name}: a string`);
  const trimmed = value.trim();
  if (options.required === true && trimmed === '') throw invalid(`${name}: must not be empty`);
  const max = options.max ?? limits.text;
  if (trimmed.length > max) throw invalid(`${name}: at most ${max} characters`);
  // Control characters other than line breaks and tabs have no place in a note or a mail.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(trimmed)) throw invalid(`${name}: no control characters`);
  return trimmed;
}

export function severity(body: Body, name = 'severity'): Severity | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(severities as readonly string[]).includes(value)) throw invalid(`${name}: one of ${severities.join(', ')}`);
  return value as Severity;
}

export function state(body: Body, name = 'to'): IncidentState {
  const value = body[name];
  if (!isIncidentState(value)) throw invalid(`${name}: one of ${incidentStates.join(', ')}`);
  return value;
}

export function time(body: Body, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const at = typeof value === 'string' && isoPattern.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw invalid(`${name}: an ISO 8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z`);
  return at;
}

export function tenantIds(body: Body, name = 'tenants'): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > limits.tenants || !value.every((v) => typeof v === 'string' && tenantIdPattern.test(v))) throw invalid(`${name}: a list of tenant ids (at most ${limits.tenants})`);
  return [...new Set(value as string[])].sort();
}

export interface AlertRef {
  readonly realm: string;
  readonly alertId: string;
}

/** `<realm>/<alert id>`, as the CLI's `--from-alert` and the API's `alerts` take it. */
export function parseAlertRef(value: unknown, name = 'alerts'): AlertRef {
  const match = typeof value === 'string' ? alertRefPattern.exec(value) : null;
  if (match === null) throw invalid(`${name}: <realm>/<alert id>, e.g. operators/0190…`);
  return { realm: match[1] as string, alertId: match[2] as string };
}

export function alertRefs(body: Body, name = 'alerts'): AlertRef[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > limits.alerts) throw invalid(`${name}: a list of <realm>/<alert id> (at most ${limits.alerts})`);
  return value.map((v) => parseAlertRef(v, name));
}

export interface OwnerRef {
  readonly realm: string;
  readonly accountId: string;
}

/** `{ realm, id }`: an operator (realm `operators`) or a tenant admin of an affected tenant. */
export function owner(body: Body): OwnerRef | undefined {
  const value = body['owner'];
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('owner: { "realm": …, "id": … } — an operator or an admin of an affected tenant');
  const { realm, id } = value as Record<string, unknown>;
  if (typeof realm !== 'string' || !tenantIdPattern.test(realm) || typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalid('owner: { "realm": …, "id": … } — an operator or an admin of an affected tenant');
  return { realm, accountId: id };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A public update is read by anyone (the status page): it must not say which customers or which
 * patients are concerned (GDPR Art. 5(1)(f), HIPAA 45 CFR 164.502: no disclosure beyond what is
 * needed). Refused when it names a tenant of the platform — by id or by name, as a word — or
 * carries a `Patient/` reference. A person still reads it before it goes out; this catches the
 * slip, not the intent.
 */
export function checkPublicText(value: string, tenants: ReadonlyArray<{ readonly id: string; readonly name: string }>): void {
  if (/Patient\//i.test(value)) throw new IncidentError('public-text-refused', 'The public text names a patient (Patient/…): public updates never concern people.', { status: 422, expose: true });
  for (const tenant of tenants) {
    for (const word of [tenant.id, tenant.name]) {
      if (word.trim().length < 3) continue;
      if (new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word.trim())}($|[^\\p{L}\\p{N}])`, 'iu').test(value)) {
        throw new IncidentError('public-text-refused', 'The public text names a tenant of this platform: public updates never say which customers are concerned.', { status: 422, expose: true });
      }
    }
  }
}
