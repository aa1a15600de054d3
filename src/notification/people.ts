import type { Audit } from '../audit/index.js';
import type { Scope, ScopeAct } from '../breach/index.js';
import type { Storage } from '../platform/db/index.js';
import { RecordError, type Records } from '../records/index.js';

/** The languages notices are written in. */
export const noticeLanguages = ['de', 'en'] as const;
export type NoticeLanguage = (typeof noticeLanguages)[number];

/**
 * An affected patient as a notice needs them: how to address and reach them, where they live
 * (HIPAA counts residents per State or jurisdiction, 45 CFR 164.406), and what the scope found.
 * Read from the tenant's own Patient record when asked, never stored by this module.
 */
export interface AffectedPerson {
  readonly tenantId: string;
  /** `Patient/<id>`. */
  readonly patient: string;
  /** For a salutation: the official (or first) name, given names then family name; null when the record has none. */
  readonly name: string | null;
  /** The first e-mail address (`telecom` system `email`, preferring `use: home`). */
  readonly email: string | null;
  /** The lines of a postal address for a letter (line…, postal code and city, country), null when there is none. */
  readonly postal: readonly string[] | null;
  /** `address.country` and `address.state` of the home (or first) address, as recorded. */
  readonly country: string | null;
  readonly state: string | null;
  /** Patient.communication (preferred first) when German or English, else the caller's fallback. */
  readonly language: NoticeLanguage;
  /**
   * The patient's key was destroyed (GDPR Art. 17) or the record deleted: nothing to address a
   * notice with; the person still counts as affected.
   */
  readonly unreachable: 'erased' | 'deleted' | null;
  /** From the scope. */
  readonly disclosure: 'in-clear' | 'ciphertext-only';
  readonly classes: readonly string[];
  readonly first: number | null;
  readonly last: number | null;
}

/** Affected people per jurisdiction: `US/CA`, `DE/BY`, `DE` (no state), and those with no address. */
export interface Residency {
  readonly byJurisdiction: Readonly<Record<string, number>>;
  readonly unknown: number;
}

export interface AffectedPeople {
  /**
   * The affected patients of one tenant in a scope, with their contact details read from their
   * Patient records (decrypted). Audited in the tenant's trail as `breach.people_resolved`, with
   * the patients as subjects and purpose HLEGAL: a patient's "who saw my data" shows that their
   * record was opened to notify them (GDPR Art. 15(1)(c)).
   */
  resolve(scope: Scope, tenantId: string, by: ScopeAct, fallback: NoticeLanguage): Promise<AffectedPerson[]>;
}

export interface AffectedPeopleDeps {
  readonly storage: Storage;
  readonly records: Records;
  readonly audit: Audit;
}

interface PatientJson {
  name?: Array<{ use?: string; text?: string; given?: string[]; family?: string; prefix?: string[] }>;
  telecom?: Array<{ system?: string; value?: string; use?: string }>;
  address?: Array<{ use?: string; type?: string; line?: string[]; city?: string; postalCode?: string; state?: string; country?: string; text?: string }>;
  communication?: Array<{ preferred?: boolean; language?: { coding?: Array<{ code?: string }>; text?: string } }>;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

/** The pure part: a Patient resource's JSON → how to reach the person. */
export function contactOf(patient: PatientJson, fallback: NoticeLanguage): Pick<AffectedPerson, 'name' | 'email' | 'postal' | 'country' | 'state' | 'language'> {
  const names = Array.isArray(patient.name) ? patient.name : [];
  const name = names.find((n) => n.use === 'official') ?? names.find((n) => n.use !== 'old') ?? names[0];
  const nameText = name === undefined ? null : (text(name.text) ?? text([...(name.given ?? []), name.family ?? ''].filter((p) => typeof p === 'string').join(' ')));
  const mails = (Array.isArray(patient.telecom) ? patient.telecom : []).filter((t) => t.system === 'email' && text(t.value) !== null && t.use !== 'old');
  const email = text((mails.find((t) => t.use === 'home') ?? mails[0])?.value);
  const addresses = (Array.isArray(patient.address) ? patient.address : []).filter((a) => a.use !== 'old' && a.type !== 'physical-only');
  const address = addresses.find((a) => a.use === 'home') ?? addresses[0];
  let postal: string[] | null = null;
  if (address !== undefined) {
    const lines = [...(address.line ?? []).map(text), [text(address.postalCode), text(address.city)].filter((p) => p !== null).join(' ') || null, text(address.country)].filter((l): l is string => l !== null);
    postal = lines.length > 0 ? lines : text(address.text) === null ? null : [text(address.text) as string];
  }
  const languages = (Array.isArray(patient.communication) ? patient.communication : [])
    .slice()
    .sort((a, b) => Number(b.preferred === true) - Number(a.preferred === true))
    .flatMap((c) => [...(c.language?.coding ?? []).map((coding) => coding.code), c.language?.text])
    .map((code) => (typeof code === 'string' ? code.toLowerCase().slice(0, 2) : ''));
  const language = (languages.find((code) => (noticeLanguages as readonly string[]).includes(code)) as NoticeLanguage | undefined) ?? fallback;
  return { name: nameText, email, postal, country: text(address?.country), state: text(address?.state), language };
}

/** Counts people per jurisdiction (country/state as recorded, upper-cased). */
export function residencyOf(people: readonly Pick<AffectedPerson, 'country' | 'state'>[]): Residency {
  const byJurisdiction: Record<string, number> = {};
  let unknown = 0;
  for (const person of people) {
    const country = person.country?.toUpperCase() ?? null;
    const state = person.state?.toUpperCase() ?? null;
    if (country === null && state === null) {
      unknown += 1;
      continue;
    }
    const key = state === null ? (country as string) : `${country ?? '?'}/${state}`;
    byJurisdiction[key] = (byJurisdiction[key] ?? 0) + 1;
  }
  return { byJurisdiction, unknown };
}

export function createAffectedPeople({ storage, records, audit }: AffectedPeopleDeps): AffectedPeople {
  return {
    async resolve(scope, tenantId, by, fallback) {
      const part = scope.tenants.find((t) => t.tenantId === tenantId);
      if (part === undefined) return [];
      const db = await storage.tenant(tenantId);
      const people: AffectedPerson[] = [];
      for (const access of part.patients.list) {
        const id = access.patient.slice('Patient/'.length);
        let contact = contactOf({}, fallback);
        let unreachable: AffectedPerson['unreachable'] = null;
        try {
          const stored = await records.read({ tenantId, db }, 'Patient', id);
          contact = contactOf(JSON.parse(stored.content) as PatientJson, fallback);
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
          if (error.code === 'erased') unreachable = 'erased';
          else if (error.code === 'not-found' || error.code === 'gone') unreachable = 'deleted';
          else throw error;
        }
        people.push({ tenantId, patient: access.patient, ...contact, unreachable, disclosure: access.disclosure, classes: access.classes, first: access.first, last: access.last });
      }
      const opened = people.filter((p) => p.unreachable === null).map((p) => p.patient);
      await audit.record(tenantId, [
        {
          action: 'breach.people_resolved',
          outcome: 'success',
          status: 0,
          actor: by.actor,
          purpose: 'HLEGAL',
          resources: opened,
          subjects: opened,
          classes: opened.length > 0 ? ['personal'] : [],
          requestId: by.requestId,
          sourceIp: by.sourceIp,
          detail: `scope=${scope.hash} patients=${people.length} opened=${opened.length}`,
        },
      ]);
      return people;
    },
  };
}
