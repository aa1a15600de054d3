import { StatusError } from './errors.js';

/** A tenant as the platform knows it: what must never appear in public text. */
export interface KnownTenant {
  readonly id: string;
  readonly name: string;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Refuses public text that names a tenant (its id or its name) or a patient (`Patient/…`): the
 * status page is for everyone, and who was affected is told to them privately (GDPR Art. 34,
 * HIPAA 45 CFR 164.404) — never to the world. Whole words only, case-insensitive, so a tenant
 * called "Nord" does not refuse "northern".
 */
export function checkPublicText(fields: Readonly<Record<string, string>>, tenants: readonly KnownTenant[]): void {
  for (const [field, value] of Object.entries(fields)) {
    if (/\bPatient\s*\//i.test(value)) throw new StatusError('public-text-unsafe', `${field}: public text must not reference a patient (Patient/…)`, { status: 422 });
    for (const tenant of tenants) {
      for (const word of new Set([tenant.id, tenant.name])) {
        if (word.trim().length < 2) continue;
        if (new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word.trim())}($|[^\\p{L}\\p{N}])`, 'iu').test(value)) {
          // The tenant is not named in the refusal either: the message may be logged.
          throw new StatusError('public-text-unsafe', `${field}: public text must not name a tenant of this platform`, { status: 422 });
        }
      }
    }
  }
}
