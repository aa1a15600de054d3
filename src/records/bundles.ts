import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { Clock } from '../platform/clock.js';

import { AppError, type ErrorIssue } from '../platform/errors.js';
import { invalid, RecordError } from './errors.js';
import { responseBundle, searchsetBundle, type ResponseEntry } from './fhir/bundle.js';
import { operationOutcome } from './fhir/operation-outcome.js';
import type { AuditEventInput } from '../audit/index.js';
import type { SqlExecutor } from '../platform/db/index.js';
import type { RecordGuard } from './guard.js';
import { multipleMatches, parseIfNoneExist, requireDefinition, requireId, type Disclosure, type PreparedCondition, type PreparedWrite, type Records, type StoredResource, type TenantData, type TenantView } from './records.js';

/** One resource an entry disclosed or changed, as the audit trail names it. */
export type Disclosed = { readonly ref: string } & Disclosure;

/**
 * How a Bundle's entries reach the audit trail: write events commit with the writes, read
 * events are durable before the response is sent. The HTTP layer supplies who is asking.
 */
export interface BundleAudit {
  event(kind: 'created' | 'updated' | 'deleted' | 'read' | 'searched' | 'denied', disclosed: readonly Disclosed[], status: number, failure?: AppError): AuditEventInput;
  appendIn(tx: SqlExecutor, events: readonly AuditEventInput[]): Promise<void>;
  record(events: readonly AuditEventInput[]): Promise<void>;
}

const maxEntries = 1000;

type Operation =
  | {
      readonly method: 'POST';
      readonly type: string;
      readonly write: PreparedWrite;
      /**
       * `request.ifNoneExist`. `pinned`: other entries' references to this one were resolved
       * before the transaction began, to `expected` (the match) or, when undefined, to a new id.
       */
      readonly condition?: { readonly prepared: PreparedCondition; readonly pinned: boolean; readonly expected: string | undefined };
    }
  | { readonly method: 'PUT'; readonly type: string; readonly id: string; readonly write: PreparedWrite; readonly ifMatch: string | undefined }
  | { readonly method: 'DELETE'; readonly type: string; readonly id: string; readonly ifMatch: string | undefined }
  | { readonly method: 'GET'; readonly type: string; readonly id?: string; readonly versionId?: string; readonly params?: Array<[string, string]> };

export interface BundleDeps {
  readonly records: Records;
  readonly clock: Clock;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function entryError(index: number, error: unknown): never {
  if (error instanceof AppError) {
    const issues: ErrorIssue[] = (error.issues.length > 0 ? error.issues : [{ diagnostics: error.message }]).map((issue) => ({
      diagnostics: issue.diagnostics,
      expression: issue.expression === undefined ? `Bundle.entry[${index}]` : `Bundle.entry[${index}].resource${issue.expression.replace(/^[A-Za-z]+/, '')}`,
    }));
    throw new AppError(error.code, `Bundle.entry[${index}]: ${error.message}`, { status: error.status, expose: error.expose, issues, cause: error, headers: error.headers });
  }
  throw error;
}

/** Replaces `urn:uuid:` references to entries of the same transaction (R4 §3.1.0.11.2). */
function rewriteReferences(value: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, ids));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) out[key] = key === 'reference' && typeof item === 'string' && ids.has(item) ? ids.get(item) : rewriteReferences(item, ids);
  return out;
}

function parseRequestUrl(raw: string, baseUrl: string): { type: string; id?: string; versionId?: string; params?: Array<[string, string]> } {
  const relative = raw.startsWith(`${baseUrl}/`) ? raw.slice(baseUrl.length + 1) : raw;
  const [path = '', query] = relative.split('?', 2);
  const parts = path.split('/');
  const type = parts[0] ?? '';
  if (parts.length === 1) return { type, ...(query === undefined ? {} : { params: [...new URLSearchParams(query)] }) };
  if (parts.length === 2) return { type, id: parts[1] as string };
  if (parts.length === 4 && parts[2] === '_history') return { type, id: parts[1] as string, versionId: parts[3] as string };
  throw invalid('bundle-invalid', `Unsupported request url "${raw}".`);
}

/** batch and transaction Bundles at the tenant's base (R4 §3.1.0.11). */
export function createBundleProcessor({ records, clock }: BundleDeps) {
  /** The id of the one record a condition matches now, if exactly one does (errors are raised later, in order). */
  async function soleMatch(t: TenantData, guard: RecordGuard, type: string, criteria: string): Promise<string | undefined> {
    try {
      const matches = await records.matchCondition(t, await records.prepareCondition(t.tenantId, type, criteria), guard.scopeOf(type));
      return matches.length === 1 ? matches[0] : undefined;
    } catch {
      return undefined;
    }
  }

  async function parseEntries(t: TenantData, guard: RecordGuard, body: unknown, baseUrl: string): Promise<{ kind: 'batch' | 'transaction'; operations: Array<Operation | AppError> }> {
    if (!isObject(body) || body['resourceType'] !== 'Bundle') throw invalid('bundle-invalid', 'POST to the base takes a Bundle of type batch or transaction.');
    const kind = body['type'];
    if (kind !== 'batch' && kind !== 'transaction') throw invalid('bundle-invalid', 'Bundle.type must be batch or transaction.', [{ expression: 'Bundle.type', diagnostics: 'Expected batch or transaction.' }]);
    const entries = body['entry'] ?? [];
    if (!Array.isArray(entries) || entries.length > maxEntries) throw invalid('bundle-invalid', `Bundle.entry must be a list of at most ${maxEntries} entries.`);

    // Transaction: every POST with a urn:uuid fullUrl gets its id before anything is prepared —
    // or, for a conditional create that matches, the match's (R4 §3.1.0.11.2). Inside the
    // transaction the condition is checked again; a different answer then fails it (409).
    const assigned = new Map<string, string>();
    const newIds = new Map<number, string>();
    const matched = new Map<number, string>();
    if (kind === 'transaction') {
      for (const [index, entry] of (entries as unknown[]).entries()) {
        const request = isObject(entry) && isObject(entry['request']) ? entry['request'] : undefined;
        const resource = isObject(entry) && isObject(entry['resource']) ? entry['resource'] : undefined;
        const fullUrl = isObject(entry) ? entry['fullUrl'] : undefined;
        if (request?.['method'] === 'POST' && typeof fullUrl === 'string' && fullUrl.startsWith('urn:uuid:') && typeof resource?.['resourceType'] === 'string') {
          const type = resource['resourceType'];
          const criteria = request['ifNoneExist'];
          const match = typeof criteria === 'string' ? await soleMatch(t, guard, type, criteria) : undefined;
          if (match !== undefined) {
            matched.set(index, match);
            assigned.set(fullUrl, `${type}/${match}`);
            continue;
          }
          const id = timeOrderedId(clock.now().getTime());
          newIds.set(index, id);
          assigned.set(fullUrl, `${type}/${id}`);
        }
      }
    }

    const operations = await Promise.all(entries.map(async (entry: unknown, index): Promise<Operation | AppError> => {
      try {
        if (!isObject(entry) || !isObject(entry['request'])) throw invalid('bundle-invalid', 'Each entry needs a request with method and url.');
        const request = entry['request'];
        const method = request['method'];
        const url = request['url'];
        if (typeof url !== 'string' || url.length === 0) throw invalid('bundle-invalid', 'entry.request.url is required.');
        for (const conditional of ['ifNoneMatch', 'ifModifiedSince']) {
          if (request[conditional] !== undefined) throw invalid('bundle-invalid', `Conditional requests (${conditional}) are not supported.`);
        }
        const ifMatch = typeof request['ifMatch'] === 'string' ? request['ifMatch'] : undefined;
        const target = parseRequestUrl(url, baseUrl);
        requireDefinition(target.type);
        const resource = kind === 'transaction' ? rewriteReferences(entry['resource'], assigned) : entry['resource'];
        // Each entry needs what the same request would need on its own (the permission matrix).
        const { tenantId } = t;
        switch (method) {
          case 'POST': {
            if (target.id !== undefined || target.params !== undefined) throw invalid('bundle-invalid', 'POST takes a url of the form Type.');
            guard.allow(target.type, 'create');
            const criteria = request['ifNoneExist'];
            let condition: PreparedCondition | undefined;
            if (criteria !== undefined) {
              if (typeof criteria !== 'string') throw invalid('condition-invalid', 'entry.request.ifNoneExist is a search query string.');
              // The answer tells whether a record matches: the caller must be allowed that search.
              guard.allow(target.type, 'search');
              guard.checkSearch(target.type, parseIfNoneExist(criteria));
              condition = await records.prepareCondition(tenantId, target.type, criteria);
            }
            const admitted = await guard.admit(t, target.type, { mode: 'create' }, resource);
            const write = await records.prepare(tenantId, target.type, admitted.body, { mode: 'create', ...(newIds.has(index) ? { id: newIds.get(index) as string } : {}) });
            await guard.reach(t, write.keySubject, `${target.type}/${write.id}`, { newPatient: target.type === 'Patient' });
            return { method, type: target.type, write, ...(condition === undefined ? {} : { condition: { prepared: condition, pinned: matched.has(index) || newIds.has(index), expected: matched.get(index) } }) };
          }
          case 'PUT': {
            if (target.id === undefined || target.versionId !== undefined) throw invalid('bundle-invalid', 'PUT takes a url of the form Type/id.');
            guard.allow(target.type, 'update');
            const admitted = await guard.admit(t, target.type, { mode: 'update', id: requireId(target.id) }, resource);
            const write = await records.prepare(tenantId, target.type, admitted.body, { mode: 'update', id: target.id });
            if (target.type !== 'Patient') await guard.reach(t, write.keySubject, `${target.type}/${target.id}`);
            return { method, type: target.type, id: target.id, write, ifMatch: ifMatch ?? admitted.ifMatch };
          }
          case 'DELETE':
            if (target.id === undefined || target.versionId !== undefined) throw invalid('bundle-invalid', 'DELETE takes a url of the form Type/id.');
            guard.allow(target.type, 'delete');
            return { method, type: target.type, id: requireId(target.id), ifMatch };
          case 'GET':
            guard.allow(target.type, target.id === undefined ? 'search' : 'read');
            if (target.params !== undefined) guard.checkSearch(target.type, target.params);
            return { method, ...target };
          default:
            throw invalid('bundle-invalid', 'entry.request.method must be GET, POST, PUT or DELETE.');
        }
      } catch (error) {
        if (error instanceof AppError) {
          try {
            entryError(index, error);
          } catch (wrapped) {
            return wrapped as AppError;
          }
        }
        throw error;
      }
    }));
    return { kind, operations };
  }

  const written = (status: string, stored: StoredResource): ResponseEntry => ({
    status,
    location: `${stored.type}/${stored.id}/_history/${stored.versionId}`,
    etag: `W/"${stored.versionId}"`,
    lastModified: stored.lastUpdated,
    resource: stored.content,
  });

  const disclosedOf = (stored: StoredResource): Disclosed => ({ ref: `${stored.type}/${stored.id}/_history/${stored.versionId}`, subject: stored.subject, classes: stored.classes });

  async function run(exec: TenantView, operation: Operation, baseUrl: string, audit: BundleAudit, guard: RecordGuard): Promise<{ entry: ResponseEntry; event: AuditEventInput }> {
    switch (operation.method) {
      case 'POST': {
        if (operation.condition !== undefined) {
          const [match, ...more] = await records.matchCondition(exec, operation.condition.prepared, guard.scopeOf(operation.type));
          if (more.length > 0) throw multipleMatches(operation.type);
          if (operation.condition.pinned && match !== operation.condition.expected) {
            throw new RecordError('conflict', 'A record matching ifNoneExist was created or changed while the transaction was prepared; retry.', { status: 409 });
          }
          if (match !== undefined) {
            const shown = await guard.disclose(exec, await records.read(exec, operation.type, match), { inScope: true });
            return { entry: written('200 OK', shown), event: audit.event('read', [disclosedOf(shown)], 200) };
          }
        }
        const stored = await guard.disclose(exec, await records.createIn(exec, operation.write), { inScope: true });
        return { entry: written('201 Created', stored), event: audit.event('created', [disclosedOf(stored)], 201) };
      }
      case 'PUT': {
        const { resource: stored, created } = await records.updateIn(exec, operation.write, operation.ifMatch);
        const resource = await guard.disclose(exec, stored, { inScope: true });
        return { entry: written(created ? '201 Created' : '200 OK', resource), event: audit.event(created ? 'created' : 'updated', [disclosedOf(resource)], created ? 201 : 200) };
      }
      case 'DELETE': {
        const current = await records.peek(exec, operation.type, operation.id);
        if (current !== undefined) await guard.reach(exec, current.subject, `${operation.type}/${operation.id}`, { action: 'delete' });
        const { subject } = await records.deleteIn(exec, operation.type, operation.id, operation.ifMatch);
        return { entry: { status: '204 No Content' }, event: audit.event('deleted', [{ ref: `${operation.type}/${operation.id}`, subject: subject ?? '_tenant', classes: [] }], 204) };
      }
      case 'GET': {
        if (operation.id === undefined) {
          const found = await records.search(exec, operation.type, operation.params ?? [], false, guard.scopeOf(operation.type), [baseUrl]);
          const result = { ...found, matches: await guard.discloseAll(exec, found.matches.map((m) => ({ ...m, type: operation.type }))) };
          const disclosed = result.matches.map((m) => ({ ref: `${operation.type}/${m.id}/_history/${m.versionId}`, subject: m.subject, classes: m.classes }));
          return { entry: { status: '200 OK', resource: searchsetBundle(baseUrl, operation.type, result, clock.now()) }, event: audit.event('searched', disclosed, 200) };
        }
        const stored = await guard.disclose(exec, operation.versionId === undefined ? await records.read(exec, operation.type, operation.id) : await records.vread(exec, operation.type, operation.id, operation.versionId));
        return { entry: { status: '200 OK', etag: `W/"${stored.versionId}"`, lastModified: stored.lastUpdated, resource: stored.content }, event: audit.event('read', [disclosedOf(stored)], 200) };
      }
    }
  }

  const kindOf = { POST: 'created', PUT: 'updated', DELETE: 'deleted', GET: 'read' } as const;

  const failed = (error: AppError): ResponseEntry => ({
    status: String(error.status),
    outcome: JSON.stringify(operationOutcome(error.status, error.code, error.message, error.issues)),
  });

  // R4 §3.1.0.11.2: a transaction processes DELETE, then POST, then PUT, then GET.
  const order = { DELETE: 0, POST: 1, PUT: 2, GET: 3 } as const;

  return {
    async process(t: TenantData, body: unknown, baseUrl: string, audit: BundleAudit, guard: RecordGuard): Promise<{ kind: 'batch' | 'transaction'; bundle: string }> {
      const { kind, operations } = await parseEntries(t, guard, body, baseUrl);
      const view = (db: TenantView['db']): TenantView => ({ tenantId: t.tenantId, db });
      if (kind === 'transaction') {
        const firstError = operations.find((op): op is AppError => op instanceof AppError);
        if (firstError !== undefined) throw firstError;
        const ops = operations as Operation[];
        const responses = await t.db.transaction(async (tx) => {
          const results: ResponseEntry[] = new Array(ops.length);
          const events: AuditEventInput[] = [];
          const sequence = ops.map((op, index) => ({ op, index })).sort((a, b) => order[a.op.method] - order[b.op.method] || a.index - b.index);
          for (const { op, index } of sequence) {
            try {
              const { entry, event } = await run(view(tx), op, baseUrl, audit, guard);
              results[index] = entry;
              events.push(event);
            } catch (error) {
              entryError(index, error);
            }
          }
          // All or nothing, the audit events included.
          await audit.appendIn(tx, events);
          return results;
        });
        return { kind, bundle: responseBundle('transaction-response', responses, clock.now()) };
      }
      // Batch: entries are independent; each write commits (or fails) on its own, with its event.
      const reads: AuditEventInput[] = [];
      const responses = await Promise.all(
        operations.map(async (op) => {
          if (op instanceof AppError) {
            // An entry the permission matrix refused is a denied access (detection looks for these).
            if (op.status === 403) reads.push(audit.event('denied', [], 403, op));
            return failed(op);
          }
          try {
            if (op.method === 'GET') {
              const { entry, event } = await run(view(t.db), op, baseUrl, audit, guard);
              reads.push(event);
              return entry;
            }
            return await t.db.transaction(async (tx) => {
              const { entry, event } = await run(view(tx), op, baseUrl, audit, guard);
              await audit.appendIn(tx, [event]);
              return entry;
            });
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            // An audit failure fails the whole request: nothing may go out unaudited.
            if (error.code === 'audit-unavailable') throw error;
            const ref = 'id' in op && op.id !== undefined ? `${op.type}/${op.id}` : op.type;
            reads.push(audit.event(error.status === 403 ? 'denied' : kindOf[op.method], [{ ref, subject: '_tenant', classes: [] }], error.status, error));
            return failed(error);
          }
        }),
      );
      await audit.record(reads);
      return { kind, bundle: responseBundle('batch-response', responses, clock.now()) };
    },
  };
}

export type BundleProcessor = ReturnType<typeof createBundleProcessor>;
