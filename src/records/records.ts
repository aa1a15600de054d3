import type { Clock } from '../platform/clock.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { invalid, RecordError } from './errors.js';
import type { FhirValidator } from './fhir/validate.js';
import { collectReferences, distinctTargets, missingReferenceIssues } from './references.js';
import { indexEntriesOf, resourceTypeDefinition, sortDateOf, type FhirResource, type ResourceTypeDefinition } from './resource-types.js';
import { parseSearch, type SearchLimits, type SearchQuery } from './search/parse.js';
import { buildSearchSql } from './search/sql.js';
import {
  insertCurrent,
  insertVersion,
  isUniqueViolation,
  replaceIndex,
  replaceLinks,
  selectCount,
  selectCurrent,
  selectHistory,
  selectLive,
  selectPage,
  selectReferrer,
  selectVersion,
  updateCurrent,
  type WriteRow,
} from './store.js';

/** A stored version: `content` is the resource's JSON text, sent as is. */
export interface StoredResource {
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
}

export interface SearchResult {
  readonly query: SearchQuery;
  readonly total: number | undefined;
  readonly matches: ReadonlyArray<{ id: string; content: string }>;
  readonly hasMore: boolean;
}

/** A write that has been parsed and validated but not yet applied; runs inside a transaction. */
export interface PreparedWrite {
  readonly type: string;
  readonly definition: ResourceTypeDefinition;
  readonly resource: FhirResource;
}

export interface Records {
  create(db: SqlDatabase, type: string, body: unknown): Promise<StoredResource>;
  read(db: SqlExecutor, type: string, id: string): Promise<StoredResource>;
  vread(db: SqlExecutor, type: string, id: string, versionId: string): Promise<StoredResource>;
  update(db: SqlDatabase, type: string, id: string, body: unknown, ifMatch?: string): Promise<{ resource: StoredResource; created: boolean }>;
  delete(db: SqlDatabase, type: string, id: string, ifMatch?: string): Promise<{ versionId: number | undefined }>;
  history(db: SqlExecutor, type: string, id: string, page: { count: number; offset: number }): Promise<{ entries: HistoryEntry[]; total: number }>;
  search(db: SqlExecutor, type: string, params: ReadonlyArray<readonly [string, string]>, lenient: boolean): Promise<SearchResult>;

  /** Building blocks for batch/transaction Bundles, which run several inside one transaction. */
  prepare(type: string, body: unknown, id?: string): PreparedWrite;
  createIn(tx: SqlExecutor, write: PreparedWrite, id?: string): Promise<StoredResource>;
  updateIn(tx: SqlExecutor, write: PreparedWrite, id: string, ifMatch?: string): Promise<{ resource: StoredResource; created: boolean }>;
  deleteIn(tx: SqlExecutor, type: string, id: string, ifMatch?: string): Promise<{ versionId: number | undefined }>;
}

export interface RecordsDeps {
  readonly validator: FhirValidator;
  readonly clock: Clock;
  readonly limits: SearchLimits;
  readonly newId?: () => string;
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

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

function versionConflict(current: number | undefined): RecordError {
  return new RecordError('version-conflict', current === undefined ? 'The resource does not exist.' : `The resource is at version ${current}.`, { status: 412 });
}

export function createRecords({ validator, clock, limits, newId = () => timeOrderedId(clock.now().getTime()) }: RecordsDeps): Records {
  const toStored = (type: string, id: string, versionId: number, lastUpdated: number, content: string): StoredResource => ({
    type,
    id,
    versionId,
    lastUpdated: new Date(lastUpdated).toISOString(),
    content,
  });

  function prepare(type: string, body: unknown, id?: string): PreparedWrite {
    const definition = requireDefinition(type);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body-invalid', 'The body must be a JSON object holding a FHIR resource.');
    const resource = { ...(body as Record<string, unknown>) } as FhirResource;
    if (resource.resourceType !== type) {
      throw invalid('resource-invalid', `resourceType must be "${type}".`, [{ expression: `${type}.resourceType`, diagnostics: `Expected ${type}.` }]);
    }
    if (id !== undefined) {
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
    return { type, definition, resource };
  }

  async function write(tx: SqlExecutor, prepared: PreparedWrite, id: string, current: { version_id: number } | undefined): Promise<StoredResource> {
    const { type, definition } = prepared;
    const references = collectReferences(prepared.resource, type, (t) => resourceTypeDefinition(t) !== undefined);
    const targets = distinctTargets(references);
    if (targets.length > 0) {
      const missing = missingReferenceIssues(references, await selectLive(tx, targets));
      if (missing.length > 0) throw invalid('reference-invalid', 'The resource refers to resources that do not exist.', missing, 422);
    }
    const versionId = (current?.version_id ?? 0) + 1;
    const lastUpdated = clock.now().getTime();
    const meta = (prepared.resource['meta'] ?? {}) as Record<string, unknown>;
    const resource = { ...prepared.resource, id, meta: { ...meta, versionId: String(versionId), lastUpdated: new Date(lastUpdated).toISOString() } };
    const entries = indexEntriesOf(definition, resource);
    const row: WriteRow = { type, id, versionId, lastUpdated, sortDate: sortDateOf(definition, entries), content: JSON.stringify(resource) };
    if (current === undefined) {
      try {
        await insertCurrent(tx, row);
      } catch (error) {
        if (isUniqueViolation(error)) throw new RecordError('conflict', 'The resource was created concurrently; retry.', { status: 409 });
        throw error;
      }
    } else if (!(await updateCurrent(tx, row, current.version_id, false))) {
      throw new RecordError('conflict', 'The resource was changed concurrently; retry.', { status: 409 });
    }
    await insertVersion(tx, row, false);
    await replaceIndex(tx, type, id, entries, current !== undefined);
    await replaceLinks(tx, type, id, targets, current !== undefined);
    return toStored(type, id, versionId, lastUpdated, row.content);
  }

  async function createIn(tx: SqlExecutor, prepared: PreparedWrite, id?: string): Promise<StoredResource> {
    return write(tx, prepared, id ?? newId(), undefined);
  }

  async function updateIn(tx: SqlExecutor, prepared: PreparedWrite, id: string, ifMatch?: string) {
    const current = await selectCurrent(tx, prepared.type, requireId(id));
    if (ifMatch !== undefined) {
      const expected = parseVersionTag(ifMatch);
      if (current === undefined || current.deleted === 1 || current.version_id !== expected) throw versionConflict(current?.version_id);
    }
    // Update-as-create with a client-chosen id (R4 §3.1.0.4.2); the CapabilityStatement says so.
    return { resource: await write(tx, prepared, id, current), created: current === undefined };
  }

  async function deleteIn(tx: SqlExecutor, type: string, id: string, ifMatch?: string) {
    requireDefinition(type);
    const current = await selectCurrent(tx, type, requireId(id));
    if (current === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
    if (current.deleted === 1) return { versionId: undefined };
    if (ifMatch !== undefined && parseVersionTag(ifMatch) !== current.version_id) throw versionConflict(current.version_id);
    const referrer = await selectReferrer(tx, type, id);
    if (referrer !== undefined) {
      // Referential integrity on delete: no live resource may be left pointing at nothing.
      throw new RecordError('referenced', `${type}/${id} is still referenced by ${referrer.type}/${referrer.id}; delete or update that first.`, { status: 409 });
    }
    const lastUpdated = clock.now().getTime();
    const row: WriteRow = { type, id, versionId: current.version_id + 1, lastUpdated, sortDate: null, content: current.content };
    if (!(await updateCurrent(tx, row, current.version_id, true))) throw new RecordError('conflict', 'The resource was changed concurrently; retry.', { status: 409 });
    await insertVersion(tx, row, true);
    await replaceIndex(tx, type, id, [], true);
    await replaceLinks(tx, type, id, [], true);
    return { versionId: row.versionId };
  }

  return {
    prepare,
    createIn,
    updateIn,
    deleteIn,
    async create(db, type, body) {
      const prepared = prepare(type, body);
      return db.transaction((tx) => createIn(tx, prepared));
    },
    async update(db, type, id, body, ifMatch) {
      const prepared = prepare(type, body, requireId(id));
      return db.transaction((tx) => updateIn(tx, prepared, id, ifMatch));
    },
    async delete(db, type, id, ifMatch) {
      return db.transaction((tx) => deleteIn(tx, type, id, ifMatch));
    },
    async read(db, type, id) {
      requireDefinition(type);
      const row = await selectCurrent(db, type, requireId(id));
      if (row === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
      if (row.deleted === 1) throw new RecordError('gone', `${type}/${id} was deleted.`, { status: 410 });
      return toStored(type, id, row.version_id, Number(row.last_updated), row.content);
    },
    async vread(db, type, id, versionId) {
      requireDefinition(type);
      requireId(id);
      if (!/^\d{1,9}$/.test(versionId)) throw invalid('id-invalid', 'A version id is a positive whole number.');
      const row = await selectVersion(db, type, id, Number(versionId));
      if (row === undefined) throw new RecordError('not-found', `${type}/${id} has no version ${versionId}.`, { status: 404 });
      if (row.deleted === 1 || row.content === null) throw new RecordError('gone', `Version ${versionId} of ${type}/${id} records its deletion.`, { status: 410 });
      return toStored(type, id, row.version_id, Number(row.last_updated), row.content);
    },
    async history(db, type, id, page) {
      requireDefinition(type);
      const current = await selectCurrent(db, type, requireId(id));
      if (current === undefined) throw new RecordError('not-found', `${type}/${id} does not exist.`, { status: 404 });
      const rows = await selectHistory(db, type, id, page.count, page.offset);
      return {
        total: current.version_id,
        entries: rows.map((row) => ({ versionId: row.version_id, lastUpdated: new Date(Number(row.last_updated)).toISOString(), content: row.deleted === 1 ? null : row.content })),
      };
    },
    async search(db, type, params, lenient) {
      const query = parseSearch(requireDefinition(type), params, limits, lenient);
      // One row more than the page tells whether there is a next page.
      const sql = buildSearchSql(db, { ...query, count: query.count + 1 }, query.total);
      const rows = query.count === 0 ? [] : await selectPage(db, sql.page.sql, sql.page.params);
      let total: number | undefined;
      if (query.total) {
        const first = rows[0];
        // A page past the end has no row to carry the total: count separately only then.
        total = first?.total !== undefined ? Number(first.total) : query.offset === 0 && query.count > 0 ? 0 : await selectCount(db, sql.count.sql, sql.count.params);
      }
      return { query, total, matches: rows.slice(0, query.count), hasMore: rows.length > query.count };
    },
  };
}
