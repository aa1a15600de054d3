import { KeyError, tenantSubject, type DataKey, type Keys } from '../keys/index.js';
import { classify, type DataClass } from './data-register.js';
import type { Clock } from '../platform/clock.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { blindIndex } from './blind-index.js';
import { IntegrityFailure, invalid, RecordError } from './errors.js';
import type { FhirValidator } from './fhir/validate.js';
import { collectReferences, distinctTargets, missingReferenceIssues } from './references.js';
import { indexEntriesOf, keySubjectOf, resourceTypeDefinition, sortDateOf, type FhirResource, type ResourceTypeDefinition } from './resource-types.js';
import { fieldEncryption, type FieldSealer, type SealContext } from './sealing.js';
import { parseSearch, type SearchLimits, type SearchQuery } from './search/parse.js';
import type { Cursor } from './search/cursor.js';
import type { RecordScope, SearchPlan } from './search/sql.js';
import { planSearch } from './search/walk.js';
import {
  countCompartment,
  eraseSubject,
  eraseSubjectTypes,
  lockCriteria,
  selectCompartment,
  insertCurrent,
  insertVersion,
  isStaleKey,
  isUniqueViolation,
  replaceIndex,
  replaceLinks,
  selectCount,
  selectCurrent,
  selectHistory,
  selectLive,
  selectPage,
  type PageRow,
  selectInCare,
  selectReferrer,
  selectVersion,
  updateCurrent,
  type WriteRow,
} from './store.js';

/** What the audit trail needs of a version that was disclosed or changed: whose, and which data classes. */
export interface Disclosure {
  /** `Patient/<id>` whose key sealed it, or `_tenant`. */
  readonly subject: string;
  /** The data classes of its elements (from the data register). */
  readonly classes: readonly DataClass[];
}

/** A stored version: `content` is the resource's JSON text, sent as is. */
export interface StoredResource extends Disclosure {
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly content: string;
}

export interface HistoryEntry {
  readonly versionId: number;
  readonly lastUpdated: string;
  /** null for the version that records a delete. */
  readonly content: string | null;
  readonly disclosure: Disclosure | null;
}

export interface SearchResult {
  readonly query: SearchQuery;
  readonly total: number | undefined;
  readonly matches: ReadonlyArray<{ id: string; versionId: number; content: string } & Disclosure>;
  /** Matches on this page left out by patients' consents or restrictions (counted in `total`). */
  readonly withheld?: number;
  readonly hasMore: boolean;
  /** Where the next page starts (keyset paging), when the order has at most one sort key. */
  readonly next: Cursor | undefined;
}

/** Which page of a compartment: types, updated at or after `since` (ms), after a (type, id) position. */
export interface CompartmentPage {
  readonly types: readonly string[];
  readonly since?: number;
  readonly after?: { readonly type: string; readonly id: string };
  readonly count: number;
}

/** A tenant's data set, for the operations that open their own transaction. */
export interface TenantData {
  readonly tenantId: string;
  readonly db: SqlDatabase;
}

/** A tenant's data set seen through an executor: the database itself, or a transaction. */
export interface TenantView {
  readonly tenantId: string;
  readonly db: SqlExecutor;
}

/**
 * A write that has been parsed and validated, its id chosen and its keys fetched, but not yet
 * applied: the part that needs I/O outside the data set happens before the transaction.
 */
export interface PreparedWrite {
  readonly type: string;
  readonly id: string;
  readonly definition: ResourceTypeDefinition;
  readonly resource: FhirResource;
  readonly keySubject: string;
  readonly key: DataKey;
  readonly digest: (param: string, value: string) => string;
}

/** Parsed `If-None-Exist` criteria; `lock` names them whatever their order. */
export interface PreparedCondition {
  readonly query: SearchQuery;
  readonly lock: string;
}

/** A create takes the server's id (or one a transaction Bundle assigned); an update names its own. */
export type WriteTarget = { readonly mode: 'create'; readonly id?: string } | { readonly mode: 'update'; readonly id: string };

export interface Records {
  create(t: TenantData, type: string, body: unknown): Promise<StoredResource>;
  read(t: TenantView, type: string, id: string): Promise<StoredResource>;
  vread(t: TenantView, type: string, id: string, versionId: string): Promise<StoredResource>;
  update(t: TenantData, type: string, id: string, body: unknown, ifMatch?: string): Promise<{ resource: StoredResource; created: boolean }>;
  delete(t: TenantData, type: string, id: string, ifMatch?: string): Promise<{ versionId: number | undefined; subject: string | undefined }>;
  history(t: TenantView, type: string, id: string, page: { count: number; offset: number }): Promise<{ entries: HistoryEntry[]; total: number }>;
  /** `scope` restricts the matches in SQL (the permission matrix's reach); default: every record. */
  search(t: TenantView, type: string, params: ReadonlyArray<readonly [string, string]>, lenient: boolean, scope?: RecordScope, bases?: readonly string[]): Promise<SearchResult>;
  /** A resource's current version and whose it is, without opening it (for access decisions). */
  peek(t: TenantView, type: string, id: string): Promise<{ versionId: number; subject: string; deleted: boolean } | undefined>;
  /** Whether `Patient/<id>` is in the care of the practitioner (generalPractitioner or a shared Appointment). */
  inCare(t: TenantView, subject: string, practitionerId: string): Promise<boolean>;
  /**
   * Conditional create (R4 §3.1.0.8.1), in two steps: the `If-None-Exist` criteria parsed
   * (outside any transaction: it may fetch the index key), then, inside the creating
   * transaction, the ids of the records within `scope` that match (at most two: two already
   * means 412). The second step first takes a lock on the criteria, so two identical conditional
   * creates never both see "no match"; it needs no other connection while holding it.
   */
  prepareCondition(tenantId: string, type: string, criteria: string): Promise<PreparedCondition>;
  matchCondition(t: TenantView, condition: PreparedCondition, scope?: RecordScope): Promise<string[]>;
  /**
   * One page of a patient's compartment: the live records sealed under their key (see
   * `keySubjectOf`), opened, in (type, id) order after `after`. Decides no access: callers
   * pass each page through the guard.
   */
  compartment(t: TenantView, subject: string, page: CompartmentPage): Promise<StoredResource[]>;
  /** How many live records of these types are sealed under `subject`'s key. */
  countCompartment(t: TenantView, subject: string, types: readonly string[]): Promise<number>;
  /** Marks every record sealed under `subject`'s (destroyed) key as erased. */
  erase(t: TenantData, subject: string): Promise<number>;
  /** Erases `subject`'s records of `types` while its key stays (retention by class): their content goes, reads answer 410. */
  eraseTypes(t: TenantData, subject: string, types: readonly string[]): Promise<number>;

  /** Building blocks for batch/transaction Bundles, which run several inside one transaction. */
  prepare(tenantId: string, type: string, body: unknown, target: WriteTarget): Promise<PreparedWrite>;
  createIn(t: TenantView, write: PreparedWrite): Promise<StoredResource>;
  updateIn(t: TenantView, write: PreparedWrite, ifMatch?: string): Promise<{ resource: StoredResource; created: boolean }>;
  deleteIn(t: TenantView, type: string, id: string, ifMatch?: string): Promise<{ versionId: number | undefined; subject: string | undefined }>;
}

export interface RecordsDeps {
  readonly validator: FhirValidator;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly limits: SearchLimits;
  readonly newId?: () => string;
  /** Only the benchmark replaces this (bench/plaintext-sealer.ts); nothing in config can. */
  readonly sealer?: FieldSealer;
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

// Parameters that shape a result page rather than select records: meaningless as a condition.
const resultParameters = new Set(['_count', '_offset', '_cursor', '_sort', '_total', '_format', '_summary', '_elements', '_include', '_revinclude', '_contained']);

/** The search parameters of an `If-None-Exist` value (a query string without `?`). */
export function parseIfNoneExist(criteria: string): Array<[string, string]> {
  const params = [...new URLSearchParams(criteria.startsWith('?') ? criteria.slice(1) : criteria)];
  if (params.length === 0) throw invalid('condition-invalid', 'If-None-Exist needs search parameters, e.g. identifier=http://hospital.example/mrn|123.');
  const shaping = params.filter(([name]) => resultParameters.has(name.split(':', 1)[0] as string));
  if (shaping.length > 0) {
    throw invalid('condition-invalid', 'If-None-Exist takes search criteria only.', shaping.map(([name]) => ({ expression: name, diagnostics: 'Not a search criterion.' })));
  }
  return params;
}

export function requireDefinition(type: string): ResourceTypeDefinition {
  const definition = resourceTypeDefinition(type);
  if (definition === undefined) throw new RecordError('type-unsupported', `Resource type "${type}" is not supported here; see metadata.`, { status: 404 });
  return definition;
}

export function requireId(id: string): string {
  if (!idPattern.test(id)) throw invalid('id-invalid', 'A FHIR id is 1–64 of A–Z, a–z, 0–9, "-" and ".".');
  return id;
}

/** `W/"3"` or `"3"` → 3 (RFC 9110 §8.8.3 entity tags; FHIR uses weak ETags of the versionId). */
function parseVersionTag(ifMatch: string): number {
  const m = /^(?:W\/)?"(\d{1,9})"$/.exec(ifMatch.trim());
  if (m === null) throw invalid('version-conflict', 'If-Match must be a version ETag such as W/"3".');
  return Number(m[1]);
}

/** R4 §3.1.0.8.1: several matches of a conditional create are a 412. */
export function multipleMatches(type: string): RecordError {
  return new RecordError('multiple-matches', `If-None-Exist matches more than one ${type}; make the criteria more selective.`, { status: 412 });
}

function versionConflict(current: number | undefined): RecordError {
  return new RecordError('version-conflict', current === undefined ? 'The resource does not exist.' : `The resource is at version ${current}.`, { status: 412 });
}

function erased(type: string, id: string): RecordError {
  return new RecordError('erased', `${type}/${id} was erased: its encryption key was destroyed (GDPR Art. 17).`, { status: 410 });
}

export function createRecords({ validator, keys, clock, limits, newId = () => timeOrderedId(clock.now().getTime()), sealer = fieldEncryption }: RecordsDeps): Records {
  // Only types with personal search parameters need the index key; the rest skip the lookup.
  const noBlindParams = (param: string): string => {
    throw new TypeError(`no blind index for ${param}`);
  };
  const digestFor = async (tenantId: string, definition: ResourceTypeDefinition) => {
    if (!definition.searchParams.some((p) => p.blind)) return noBlindParams;
    const indexKey = await keys.indexKey(tenantId);
    return (param: string, value: string) => blindIndex(indexKey, param, value);
  };

  const classesOf = (type: string, elements: Iterable<string>): DataClass[] => {
    const classes = new Set<DataClass>(['internal']);
    for (const element of elements) classes.add(classify(type, element));
    return [...classes];
  };

  /** Opens a stored version; a destroyed key means the record was erased, never garbage. */
  async function reveal(t: TenantView, context: SealContext, plain: string, sealed: string | null, subject: string | null): Promise<{ content: string } & Disclosure> {
    let keySubject = subject ?? tenantSubject;
    try {
      const opened = await sealer.open(context, { plain, sealed }, async (keyId, version) => {
        const key = await keys.dataKey(t.tenantId, keyId, version);
        keySubject = key.subject;
        return key;
      });
      return { content: opened.text, subject: keySubject, classes: classesOf(context.type, opened.sealedElements) };
    } catch (error) {
      if (error instanceof KeyError && error.code === 'key-shredded') throw erased(context.type, context.id);
      if (error instanceof KeyError && error.code === 'integrity-failed') throw new IntegrityFailure(`${context.type}/${context.id}/_history/${context.versionId}`, keySubject, error);
      throw error;
    }
  }

  const toStored = (type: string, id: string, versionId: number, lastUpdated: number, content: string, disclosure: Disclosure): StoredResource => ({
    type,
    id,
    versionId,
    lastUpdated: new Date(lastUpdated).toISOString(),
    content,
    ...disclosure,
  });

  async function prepare(tenantId: string, type: string, body: unknown, target: WriteTarget): Promise<PreparedWrite> {
    const definition = requireDefinition(type);
    const id = target.mode === 'update' ? requireId(target.id) : (target.id ?? newId());
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body-invalid', 'The body must be a JSON object holding a FHIR resource.');
    const resource = { ...(body as Record<string, unknown>) } as FhirResource;
    if (resource.resourceType !== type) {
      throw invalid('resource-invalid', `resourceType must be "${type}".`, [{ expression: `${type}.resourceType`, diagnostics: `Expected ${type}.` }]);
    }
    if (target.mode === 'update') {
      // R4 §3.1.0.4 update: the body's id SHALL equal the id in the URL.
      if (resource.id !== id) throw invalid('id-mismatch', 'The id in the body must equal the id in the URL.', [{ expression: `${type}.id`, diagnostics: `Expected "${id}".` }]);
    } else delete resource.id; // R4 §3.1.0.6 create: a client-supplied id is ignored.
    const meta = resource['meta'];
    if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
      // versionId and lastUpdated belong to the server.
      const { versionId: _v, lastUpdated: _l, ...kept } = meta as Record<string, unknown>;
      resource['meta'] = kept;
    }
    validator.validate(resource, type);
    const keySubject = keySubjectOf(type, id, resource);
    const [key, digest] = await Promise.all([
      keys.dataKeyFor(tenantId, keySubject).catch((error: unknown) => {
        if (error instanceof KeyError && error.code === 'key-shredded') {
          throw new RecordError('erased', `${keySubject} was erased; nothing new can be stored about it.`, { status: 410 });
        }
        throw error;
      }),
      digestFor(tenantId, definition),
    ]);
    return { type, id, definition, resource, keySubject, key, digest };
  }

  async function write(t: TenantView, prepared: PreparedWrite, current: { version_id: number } | undefined): Promise<StoredResource> {
    const { type, definition, id } = prepared;
    const tx = t.db;
    const references = collectReferences(prepared.resource, type, (name) => resourceTypeDefinition(name) !== undefined);
    const targets = distinctTargets(references);
    // Sent now and checked before anything else below: on PostgreSQL it travels with the writes
    // (which the transaction rolls back when a reference is missing) instead of a round trip
    // of its own, and the sealing runs while it is in flight.
    const live = targets.length === 0 ? Promise.resolve(undefined) : selectLive(tx, targets);
    live.catch(() => {});
    const versionId = (current?.version_id ?? 0) + 1;
    const lastUpdated = clock.now().getTime();
    const meta = (prepared.resource['meta'] ?? {}) as Record<string, unknown>;
    const resource = { ...prepared.resource, id, meta: { ...meta, versionId: String(versionId), lastUpdated: new Date(lastUpdated).toISOString() } };
    const entries = indexEntriesOf(definition, resource, prepared.digest);
    const sealed = sealer.seal({ tenantId: t.tenantId, type, id, versionId }, resource, prepared.key);
    const row: WriteRow = {
      type,
      id,
      versionId,
      lastUpdated,
      sortDate: sortDateOf(definition, entries),
      content: sealed.plain,
      sealed: sealed.sealed,
      keySubject: prepared.keySubject,
      keyId: sealed.sealed === null ? null : prepared.key.keyId,
      keyVersion: sealed.sealed === null ? null : prepared.key.version,
    };
    // The row, its version, its index entries and its references are independent statements:
    // sent together (one round trip on PostgreSQL), committed together. The first failure in
    // the order sent is the cause; on PostgreSQL the ones after it only report the aborted transaction.
    const previous = current !== undefined;
    const outcomes = await Promise.allSettled([
      current === undefined ? insertCurrent(tx, row).then(() => true) : updateCurrent(tx, row, current.version_id, false),
      insertVersion(tx, row, false),
      replaceIndex(tx, row, entries, previous),
      replaceLinks(tx, type, id, targets, previous),
    ]);
    const found = await live;
    if (found !== undefined) {
      const missing = missingReferenceIssues(references, found);
      if (missing.length > 0) throw invalid('reference-invalid', 'The resource refers to resources that do not exist.', missing, 422);
    }
    const [placed] = outcomes;
    if (placed.status === 'fulfilled' && !placed.value) throw new RecordError('conflict', 'The resource was changed concurrently; retry.', { status: 409 });
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      const error: unknown = failed.reason;
      if (current === undefined && isUniqueViolation(error)) throw new RecordError('conflict', 'The resource was created concurrently; retry.', { status: 409 });
      if (!isStaleKey(error)) throw error;
      // A key rotation finished while this write held a key from before it (another process's
      // cache): the data set refused it. Forget cached keys; the client's retry uses the new ones.
      keys.forget();
      throw new RecordError('key-rotated', 'The tenant\'s keys were rotated while this write was in flight; retry.', { status: 503, expose: true, headers: { 'retry-after': '1' } });
    }
    return toStored(type, id, versionId, lastUpdated, JSON.stringify(resource), { subject: prepared.keySubject, classes: classesOf(type, Object.keys(resource)) });
  }

  async function createIn(t: TenantView, prepared: PreparedWrite): Promise<StoredResource> {
    return write(t, prepared, undefined);
  }

  async function updateIn(t: TenantView, prepared: PreparedWrite, ifMatch?: string) {
    const current = await selectCurrent(t.db, prepared.type, prepared.id);
    if (current?.deleted === 2) throw erased(prepared.type, prepared.id);
    if (ifMatch !== undefined) {
      const expected = parseVersionTag(ifMatch);
      if (current === undefined || current.deleted === 1 || current.version_id !== expected) throw versionConflict(current?.version_id);
    }
    // Update-as-create with a client-chosen id (R4 §3.1.0.4.2); the CapabilityStatement says so.
    return { resource: await write(t, prepared, current), created: current === undefined };
  }

  async function deleteIn(t: TenantView, type: string, id: string, ifMatch?: string) {
    requireDefinition(type);
    const tx = t.db;
    const current = await selectCurrent(tx, type, requireId(id));
    if (current === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
    if (current.deleted === 2) throw erased(type, id);
    if (current.deleted === 1) return { versionId: undefined, subject: current.key_subject ?? undefined };
    if (ifMatch !== undefined && parseVersionTag(ifMatch) !== current.version_id) throw versionConflict(current.version_id);
    const referrer = await selectReferrer(tx, type, id);
    if (referrer !== undefined) {
      // Referential integrity on delete: no live resource may be left pointing at nothing.
      throw new RecordError('referenced', `${type}/${id} is still referenced by ${referrer.type}/${referrer.id}; delete or update that first.`, { status: 409 });
    }
    const lastUpdated = clock.now().getTime();
    const row: WriteRow = {
      type,
      id,
      versionId: current.version_id + 1,
      lastUpdated,
      sortDate: null,
      content: '{}',
      sealed: null,
      keySubject: current.key_subject ?? '_tenant',
      keyId: null,
      keyVersion: null,
    };
    if (!(await updateCurrent(tx, row, current.version_id, true))) throw new RecordError('conflict', 'The resource was changed concurrently; retry.', { status: 409 });
    await insertVersion(tx, row, true);
    await replaceIndex(tx, row, [], true);
    await replaceLinks(tx, type, id, [], true);
    return { versionId: row.versionId, subject: current.key_subject ?? undefined };
  }

  return {
    prepare,
    createIn,
    updateIn,
    deleteIn,
    async create(t, type, body) {
      const prepared = await prepare(t.tenantId, type, body, { mode: 'create' });
      return t.db.transaction((tx) => createIn({ tenantId: t.tenantId, db: tx }, prepared));
    },
    async update(t, type, id, body, ifMatch) {
      const prepared = await prepare(t.tenantId, type, body, { mode: 'update', id });
      return t.db.transaction((tx) => updateIn({ tenantId: t.tenantId, db: tx }, prepared, ifMatch));
    },
    async delete(t, type, id, ifMatch) {
      return t.db.transaction((tx) => deleteIn({ tenantId: t.tenantId, db: tx }, type, id, ifMatch));
    },
    async compartment(t, subject, page) {
      const rows = await selectCompartment(t.db, subject, { types: page.types, since: page.since, after: page.after, count: page.count });
      const out: StoredResource[] = [];
      for (const row of rows) {
        const context = { tenantId: t.tenantId, type: row.resource_type, id: row.id, versionId: Number(row.version_id) };
        const { content, ...disclosure } = await reveal(t, context, row.content, row.sealed, row.key_subject);
        out.push(toStored(row.resource_type, row.id, Number(row.version_id), Number(row.last_updated), content, disclosure));
      }
      return out;
    },
    countCompartment: (t, subject, types) => countCompartment(t.db, subject, types),
    async erase(t, subject) {
      return t.db.transaction((tx) => eraseSubject(tx, subject));
    },
    async eraseTypes(t, subject, types) {
      return t.db.transaction((tx) => eraseSubjectTypes(tx, subject, types));
    },
    async read(t, type, id) {
      requireDefinition(type);
      const row = await selectCurrent(t.db, type, requireId(id));
      if (row === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
      if (row.deleted === 2) throw erased(type, id);
      if (row.deleted === 1) throw new RecordError('gone', `${type}/${id} was deleted.`, { status: 410 });
      const { content, ...disclosure } = await reveal(t, { tenantId: t.tenantId, type, id, versionId: row.version_id }, row.content, row.sealed, row.key_subject);
      return toStored(type, id, row.version_id, Number(row.last_updated), content, disclosure);
    },
    async vread(t, type, id, versionId) {
      requireDefinition(type);
      requireId(id);
      if (!/^\d{1,9}$/.test(versionId)) throw invalid('id-invalid', 'A version id is a positive whole number.');
      const row = await selectVersion(t.db, type, id, Number(versionId));
      if (row === undefined) throw new RecordError('not-found', `${type}/${id} has no version ${versionId}.`, { status: 404 });
      if (row.deleted === 1 || row.content === null) throw new RecordError('gone', `Version ${versionId} of ${type}/${id} records its deletion.`, { status: 410 });
      const { content, ...disclosure } = await reveal(t, { tenantId: t.tenantId, type, id, versionId: row.version_id }, row.content, row.sealed, null);
      return toStored(type, id, row.version_id, Number(row.last_updated), content, disclosure);
    },
    async history(t, type, id, page) {
      requireDefinition(type);
      const current = await selectCurrent(t.db, type, requireId(id));
      if (current === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
      if (current.deleted === 2) throw erased(type, id);
      const rows = await selectHistory(t.db, type, id, page.count, page.offset);
      const entries: HistoryEntry[] = [];
      for (const row of rows) {
        const opened = row.deleted === 1 || row.content === null ? null : await reveal(t, { tenantId: t.tenantId, type, id, versionId: row.version_id }, row.content, row.sealed, current.key_subject);
        entries.push({
          versionId: row.version_id,
          lastUpdated: new Date(Number(row.last_updated)).toISOString(),
          content: opened?.content ?? null,
          disclosure: opened === null ? null : { subject: opened.subject, classes: opened.classes },
        });
      }
      return { total: current.version_id, entries };
    },
    async peek(t, type, id) {
      requireDefinition(type);
      const row = await selectCurrent(t.db, type, requireId(id));
      return row === undefined ? undefined : { versionId: row.version_id, subject: row.key_subject ?? tenantSubject, deleted: row.deleted !== 0 };
    },
    inCare: (t, subject, practitionerId) => selectInCare(t.db, subject, practitionerId),
    async prepareCondition(tenantId, type, criteria) {
      const params = parseIfNoneExist(criteria);
      const definition = requireDefinition(type);
      const query = parseSearch(definition, params, limits, false, await digestFor(tenantId, definition));
      return { query: { ...query, count: 2, offset: 0, sort: [] }, lock: `${type}?${params.map(([n, v]) => `${n}=${v}`).sort().join('&')}` };
    },
    async matchCondition(t, condition, scope) {
      await lockCriteria(t.db, condition.lock);
      const page = planSearch(t.db, condition.query, scope).phases[0]?.(condition.query.count) ?? { sql: '', params: [] };
      return (await selectPage(t.db, page.sql, page.params)).map((row) => row.id);
    },
    async search(t, type, params, lenient, scope, bases) {
      const db = t.db;
      const definition = requireDefinition(type);
      const query = parseSearch(definition, params, limits, lenient, await digestFor(t.tenantId, definition), bases);
      const plan = planSearch(db, query, scope);
      // One row more than the page tells whether there is a next page.
      const rows: PageRow[] = [];
      if (query.count > 0) {
        for (const phase of plan.phases) {
          if (rows.length > query.count) break;
          const page = phase(query.count + 1 - rows.length);
          rows.push(...(await selectPage(db, page.sql, page.params)));
        }
      }
      const total = await countMatches(db, query, plan, rows.length);
      const matches: Array<SearchResult['matches'][number]> = [];
      for (const row of rows.slice(0, query.count)) {
        matches.push({ id: row.id, versionId: Number(row.version_id), ...(await reveal(t, { tenantId: t.tenantId, type, id: row.id, versionId: row.version_id }, row.content, row.sealed, row.key_subject)) });
      }
      const last = rows[query.count - 1];
      const hasMore = rows.length > query.count;
      return { query, total, matches, hasMore, next: hasMore && last !== undefined ? cursorAfter(query, last) : undefined };
    },
  };
}

/** Counted past this many matches, `_total` left unasked reports none (the page costs less than the count would). */
export const totalBound = 1000;

/**
 * The total as `_total` asks (R4 §3.1.1.5.8). A first page that is also the last is its own
 * count. Otherwise the count walks the same index rows as the page, reading no table row and
 * opening nothing; `bounded` and `estimate` stop after `totalBound`, beyond which `bounded` gives
 * none and `estimate` the driving equality's rows (an upper bound: the other clauses unapplied).
 */
async function countMatches(db: SqlExecutor, query: SearchQuery, plan: SearchPlan, found: number): Promise<number | undefined> {
  if (query.total === 'none') return undefined;
  if (query.cursor === undefined && query.offset === 0 && query.count > 0 && found <= query.count) return found;
  if (query.total === 'accurate') return selectCount(db, plan.count().sql, plan.count().params);
  const bounded = plan.count(totalBound + 1);
  const counted = await selectCount(db, bounded.sql, bounded.params);
  if (counted <= totalBound) return counted;
  if (query.total === 'bounded') return undefined;
  const estimate = plan.estimate ?? plan.count();
  return selectCount(db, estimate.sql, estimate.params);
}

function cursorAfter(query: SearchQuery, row: PageRow): Cursor | undefined {
  if (query.sort.length > 1) return undefined;
  const key = query.sort[0]?.key ?? 'lastUpdated';
  if (key === 'id') return { key, value: null, id: row.id };
  if (key === 'lastUpdated') return { key, value: Number(row.last_updated), id: row.id };
  return row.sort_date === null ? { key, value: null, id: row.id } : { key, value: Number(row.sort_date), id: row.id };
}
