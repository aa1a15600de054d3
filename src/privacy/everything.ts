import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { RecordError, type AccessContext, type RecordAccess, type Records, type StoredResource } from '../records/index.js';

/**
 * The resource types of a patient's compartment that Tresor stores: those `keySubjectOf` seals
 * under the patient's own key (FHIR R4 CompartmentDefinition `patient`, restricted to the types
 * served). An Appointment of several patients is sealed under the first one's key and is in
 * that patient's compartment.
 */
export const compartmentTypes = ['Patient', 'Observation', 'Appointment', 'Consent', 'Invoice'] as const;

/** A parsed `$everything` request (R4 Patient-everything: `_since`, `_type`, `_count`; `_cursor` for the next page). */
export interface EverythingQuery {
  readonly since: number | undefined;
  readonly types: readonly string[];
  readonly count: number;
  readonly after: { readonly type: string; readonly id: string } | undefined;
  /** What the self and next links repeat. */
  readonly applied: ReadonlyArray<readonly [string, string]>;
}

export interface EverythingLimits {
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
// R4 instant: a dateTime to the second with a zone (fractions optional).
const instantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const bad = (name: string, why: string) => new RecordError('search-invalid', `${name}: ${why}`, { status: 400, issues: [{ expression: name, diagnostics: why }] });

/** The operation's parameters; anything else is refused (400) rather than silently ignored. */
export function parseEverythingQuery(query: ReadonlyArray<readonly [string, string]>, limits: EverythingLimits): EverythingQuery {
  let since: number | undefined;
  let types: string[] = [...compartmentTypes];
  let count = limits.defaultPageSize;
  let after: EverythingQuery['after'];
  const applied: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, value] of query) {
    if (seen.has(name)) throw bad(name, 'given more than once');
    seen.add(name);
    switch (name) {
      case '_since': {
        const at = instantPattern.test(value) ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(at)) throw bad('_since', 'an instant with a time zone, e.g. 2026-01-01T00:00:00Z');
        since = at;
        applied.push([name, value]);
        break;
      }
      case '_type': {
        const asked = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
        const unknown = asked.filter((type) => !(compartmentTypes as readonly string[]).includes(type));
        if (asked.length === 0 || unknown.length > 0) throw bad('_type', `a comma-separated list of ${compartmentTypes.join(', ')}${unknown.length > 0 ? ` (not ${unknown.join(', ')})` : ''}`);
        types = compartmentTypes.filter((type) => asked.includes(type));
        applied.push([name, types.join(',')]);
        break;
      }
      case '_count': {
        const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
        if (!Number.isInteger(n) || n < 1 || n > limits.maxPageSize) throw bad('_count', `1–${limits.maxPageSize}`);
        count = n;
        break;
      }
      case '_cursor': {
        const dot = value.indexOf('.');
        const type = value.slice(0, dot);
        const id = value.slice(dot + 1);
        if (dot < 1 || !(compartmentTypes as readonly string[]).includes(type) || !idPattern.test(id)) throw bad('_cursor', 'the value of a next link');
        after = { type, id };
        break;
      }
      case '_format':
        break;
      default:
        throw bad(name, 'not a parameter of $everything here (_since, _type, _count)');
    }
  }
  return { since, types, count, after, applied };
}

/** One page of `$everything`, already through the caller's guard and audited. */
export interface EverythingPage {
  readonly resources: readonly StoredResource[];
  /** Where the next page starts, when there is one. */
  readonly next: { readonly type: string; readonly id: string } | undefined;
  /** Records in the compartment of the types asked (first page without `_since` only). */
  readonly total: number | undefined;
}

export interface PatientEverything {
  /**
   * A page of the patient's compartment as this caller may see it: the caller must reach the
   * patient (care, own compartment, launch patient, or break-the-glass) and read Patient; types
   * it may not read are left out; each record is redacted to its classes by the same guard as a
   * read; the page is audited as `record.exported` before it is returned (fail closed).
   */
  page(ctx: AccessContext, patientId: string, query: EverythingQuery): Promise<EverythingPage>;
  /** The page as an R4 searchset Bundle (text assembled around the stored JSON, as search does). */
  bundle(baseUrl: string, patientId: string, query: EverythingQuery, page: EverythingPage, now: Date): string;
  /** The FHIR route's whole answer: parameters parsed, a page read as `page` does, the Bundle's text. */
  answer(ctx: AccessContext, patientId: string, params: ReadonlyArray<readonly [string, string]>, baseUrl: string): Promise<string>;
}

export interface PatientEverythingDeps {
  readonly records: Records;
  readonly access: RecordAccess;
  readonly storage: Storage;
  readonly limits: EverythingLimits;
  readonly clock: Clock;
}

export function createPatientEverything({ records, access, storage, limits, clock }: PatientEverythingDeps): PatientEverything {
  const operation: PatientEverything = {
    async answer(ctx, patientId, params, baseUrl) {
      const query = parseEverythingQuery(params, limits);
      return operation.bundle(baseUrl, patientId, query, await operation.page(ctx, patientId, query), clock.now());
    },
    async page(ctx, patientId, query) {
      if (!idPattern.test(patientId)) throw new RecordError('id-invalid', 'A FHIR id is 1–64 of A–Z, a–z, 0–9, "-" and ".".', { status: 400 });
      const patient = `Patient/${patientId}`;
      const guard = access.guardOf(ctx);
      // Function level: reading the Patient is what the operation needs; other types the role or
      // the app's scopes do not cover are left out of the answer, as a search of them would fail.
      guard.allow('Patient', 'read');
      const readable = query.types.filter((type) => {
        try {
          guard.allow(type, 'read');
          return true;
        } catch {
          return false;
        }
      });
      const t = { tenantId: ctx.tenantId, db: await storage.tenant(ctx.tenantId) };
      // Data level: the patient must be within reach before anything about them is looked at
      // (a 403 tells a clinician out of care nothing about whether the patient exists).
      await guard.reach(t, patient, patient);
      const current = await records.peek(t, 'Patient', patientId);
      if (current === undefined) throw new RecordError('not-found', `${patient} does not exist.`, { status: 404 });
      if (current.deleted) throw new RecordError('gone', `${patient} was deleted or erased.`, { status: 410 });
      const rows = await records.compartment(t, patient, {
        types: readable,
        ...(query.since === undefined ? {} : { since: query.since }),
        ...(query.after === undefined ? {} : { after: query.after }),
        count: query.count + 1,
      });
      const shown = rows.slice(0, query.count);
      // Field level and whatever else the guard decides per record (redaction, consent).
      const resources = await guard.discloseAll(t, shown);
      const last = shown.at(-1);
      await access.recorded(
        ctx,
        'record.exported',
        resources.map((r) => ({ ref: `${r.type}/${r.id}/_history/${r.versionId}`, subject: r.subject, classes: r.classes })),
      );
      const total = query.after === undefined && query.since === undefined ? await records.countCompartment(t, patient, readable) : undefined;
      return { resources, next: rows.length > query.count && last !== undefined ? { type: last.type, id: last.id } : undefined, total };
    },
    bundle(baseUrl, patientId, query, page, now) {
      const url = (extra: ReadonlyArray<readonly [string, string]>) =>
        `${baseUrl}/Patient/${patientId}/$everything?${new URLSearchParams([...query.applied, ['_count', String(query.count)], ...extra].map(([k, v]): [string, string] => [k, v])).toString()}`;
      const links = [{ relation: 'self', url: url(query.after === undefined ? [] : [['_cursor', `${query.after.type}.${query.after.id}`]]) }];
      if (page.next !== undefined) links.push({ relation: 'next', url: url([['_cursor', `${page.next.type}.${page.next.id}`]]) });
      const entries = page.resources.map((r) => `{"fullUrl":${JSON.stringify(`${baseUrl}/${r.type}/${r.id}`)},"resource":${r.content},"search":{"mode":"match"}}`);
      const total = page.total === undefined ? '' : `,"total":${page.total}`;
      return `{"resourceType":"Bundle","id":"${randomUUID()}","meta":{"lastUpdated":"${now.toISOString()}"},"type":"searchset"${total},"link":${JSON.stringify(links)},"entry":[${entries.join(',')}]}`;
    },
  };
  return operation;
}
