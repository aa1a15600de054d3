import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { describeErrorForLog } from '../platform/errors.js';
import { fromFrameworkError, sendProblem } from '../platform/http/index.js';
import { forbidden, hasCapability, mayDo, readsRecords, type Authenticator, type Capability, type Principal, type RecordAction } from '../identity/index.js';
import { checkSmartScope, restrictedTag, type RecordGuard } from './guard.js';
import { accessEvent, actorOf, breakGlassReason, defaultPurpose, disclosedOf, patientAuditEvent, recordFailure, type AccessContext, type RecordAccess } from './access.js';
import { parseTenantId, type Tenants } from '../tenants/index.js';
import { supportedTypes } from './resource-types.js';
import { auditEventJson, createEmergencyReview, purposesOfUse, toAuditEvent, type Audit, type ReviewVerdict, type AuditAction, type AuditEventInput, type EventFilter, type PurposeOfUse } from '../audit/index.js';
import type { BundleAudit, BundleProcessor, Disclosed } from './bundles.js';
import { RecordError } from './errors.js';
import { historyBundle, searchsetBundle } from './fhir/bundle.js';
import { capabilityStatement } from './fhir/capability.js';
import { operationOutcome } from './fhir/operation-outcome.js';
import type { AppError } from '../platform/errors.js';
import { multipleMatches, parseIfNoneExist, type Records, type StoredResource, type TenantData } from './records.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    tenantId: string;
    purpose: PurposeOfUse;
    /** `X-Break-Glass-Reason`, when a role that may give one did. */
    emergencyReason: string | undefined;
  }
  interface FastifyContextConfig {
    /** What the route needs: an action on the route's resource type, or a capability; absent = public (only `metadata`). */
    need?: { readonly action: RecordAction } | { readonly capability: Capability } | { readonly bundle: true } | { readonly accessLog: true };
  }
}

export interface FhirRoutesDeps {
  readonly records: Records;
  /** Reads, searches and the access log: the same code the pages call. */
  readonly access: RecordAccess;
  readonly bundles: BundleProcessor;
  readonly storage: Storage;
  readonly tenants: Tenants;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
  readonly clock: Clock;
  readonly publicUrl: string | undefined;
  readonly version: string;
  /** `Patient/{id}/$everything`: the privacy module's operation, wired in app.ts (records does not import privacy). */
  readonly everything?: EverythingOperation;
}

/** What the `$everything` route needs: the Bundle's text for a caller, a patient and the query's parameters. */
export interface EverythingOperation {
  answer(ctx: AccessContext, patientId: string, params: ReadonlyArray<readonly [string, string]>, baseUrl: string): Promise<string>;
}

const fhirJson = 'application/fhir+json; charset=utf-8';

/** R4 §3.1.0.1.10: JSON is served; anything that does not accept JSON gets 406. */
function acceptsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (accept === undefined || accept === '') return true;
  return /(^|,)\s*(\*\/\*|application\/\*|application\/(fhir\+)?json)\s*(;|,|$)/i.test(accept);
}

// ── The security pipeline of every FHIR request, in the order it runs ───────────────────────
// 1. the tenant in the path is a valid id            → 400
// 2. the caller presents a valid credential          → 401 (API key, or session cookie)
// 3. the credential belongs to that tenant           → 403 (a key never crosses tenants)
// 4. the tenant exists and is active                 → 403 / 404
// 5. a session's change carries its CSRF token;      → 403
//    its second factor, if the tenant requires one
// 6. the caller's role may do the route's action on  → 403
//    its resource type (the permission matrix)
// 7. the client accepts JSON                          → 406
// 8. a resource or Bundle comes as JSON               → 415
// Body parsing only happens after all of these (onRequest runs before the body is read).

function checkTenantParam(request: FastifyRequest): void {
  request.tenantId = parseTenantId((request.params as { tenant: string }).tenant);
}

/** Step 6: the permission matrix, for the route's resource type (unsupported types go on to their 404). */
function checkPermission(request: FastifyRequest): void {
  const need = request.routeOptions.config.need;
  const principal = request.principal as Principal;
  if (need === undefined) return;
  if ('bundle' in need) {
    // Entry by entry below; a role that reaches no records is refused at the door.
    if (!readsRecords(principal.role)) throw forbidden(`Your role (${principal.role}) reaches no records.`);
    return;
  }
  // A patient's access log: whether this caller may read this patient's is decided with the id (access.ts).
  if ('accessLog' in need) return;
  if ('capability' in need) {
    if (!hasCapability(principal.role, need.capability)) throw forbidden(`Your role (${principal.role}) does not allow this (${need.capability}).`);
    // The audit trail is not offered to third-party apps: no SMART scope covers it.
    if (principal.smart !== undefined) throw forbidden('Third-party apps cannot read the audit trail.');
    return;
  }
  const { type } = request.params as { type?: string };
  if (type !== undefined && supportedTypes.includes(type)) {
    if (!mayDo(principal.role, type, need.action)) throw forbidden(`Your role (${principal.role}) may not ${need.action} ${type}.`);
    checkSmartScope(principal, type, need.action);
  }
}

/**
 * Break-the-glass (`X-Break-Glass-Reason`): a role with `emergency:access` opens records outside
 * its care with a stated reason (10–500 printable characters), recorded as
 * `access.emergency_granted` and listed for review; the purpose becomes ETREAT unless stated.
 */
function checkBreakGlass(request: FastifyRequest): void {
  const header = request.headers['x-break-glass-reason'];
  if (header === undefined) return;
  request.emergencyReason = breakGlassReason(request.principal as Principal, String(header), 'X-Break-Glass-Reason');
}

function checkPurpose(request: FastifyRequest): void {
  const header = request.headers['x-purpose-of-use'];
  if (header === undefined) {
    request.purpose = request.principal === null ? 'TREAT' : request.emergencyReason !== undefined ? 'ETREAT' : defaultPurpose[request.principal.role];
    return;
  }
  const code = String(header).trim().toUpperCase();
  if (!(purposesOfUse as readonly string[]).includes(code)) {
    throw new RecordError('purpose-invalid', `X-Purpose-Of-Use takes one HL7 PurposeOfUse code: ${purposesOfUse.join(', ')}.`, { status: 400 });
  }
  request.purpose = code as PurposeOfUse;
}

function checkAccept(request: FastifyRequest): void {
  if (!acceptsJson(request)) throw new RecordError('not-acceptable', 'Only application/fhir+json is served.', { status: 406 });
}

/**
 * Step 8: creates, updates and Bundles take JSON. Without this a form body (what `curl -d`
 * sends) or no Content-Type at all reached the handler as "not a JSON object".
 */
function checkContentType(request: FastifyRequest): void {
  if (request.method !== 'POST' && request.method !== 'PUT') return;
  if ((request.routeOptions.url ?? '').endsWith('/_search')) return;
  if (/^application\/(fhir\+)?json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) return;
  throw new RecordError('media-type-unsupported', 'Send the resource as JSON with Content-Type: application/fhir+json.', { status: 415 });
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The audit API's search parameters: `date` (with ge/gt/le/lt, or a day), `agent` (principal
 * id), `patient`, `subtype` (Tresor actions, comma = OR), `outcome` (success/failure, or the FHIR
 * codes 0/4/8), `_count` (1–1000, default 100), `_before` (paging: events older than that id).
 */
export function parseAuditFilter(query: Record<string, unknown>, patient?: string): EventFilter {
  const bad = (name: string, why: string) => new RecordError('search-invalid', `${name}: ${why}`, { status: 400, issues: [{ expression: name, diagnostics: why }] });
  const filter: { -readonly [K in keyof EventFilter]?: EventFilter[K] } = { count: 100 };
  if (patient !== undefined) filter.patient = patient;
  for (const [name, raw] of Object.entries(query)) {
    for (const value of Array.isArray(raw) ? raw.map(String) : [String(raw)]) {
      switch (name) {
        case 'date': {
          const m = /^(ge|gt|le|lt|eq)?(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?)$/.exec(value);
          const at = m === null ? Number.NaN : Date.parse(m[2] as string);
          if (m === null || Number.isNaN(at)) throw bad('date', 'a date or dateTime with an optional ge, gt, le or lt prefix');
          const dayOnly = (m[2] as string).length === 10;
          const end = dayOnly ? at + 86_400_000 - 1 : at;
          const prefix = m[1] ?? 'eq';
          if (prefix === 'ge' || prefix === 'eq') filter.from = Math.max(filter.from ?? 0, at);
          if (prefix === 'gt') filter.from = Math.max(filter.from ?? 0, end + 1);
          if (prefix === 'le' || prefix === 'eq') filter.to = Math.min(filter.to ?? Number.MAX_SAFE_INTEGER, end);
          if (prefix === 'lt') filter.to = Math.min(filter.to ?? Number.MAX_SAFE_INTEGER, at - 1);
          break;
        }
        case 'agent':
          filter.actor = value;
          break;
        case 'patient': {
          const id = value.replace(/^Patient\//, '');
          if (!idPattern.test(id)) throw bad('patient', 'a Patient id');
          filter.patient = `Patient/${id}`;
          break;
        }
        case 'subtype':
          filter.actions = value.split(',');
          break;
        case 'outcome':
          if (value === 'success' || value === '0') filter.outcome = 'success';
          else if (value === 'failure' || value === '4' || value === '8') filter.outcome = 'failure';
          else throw bad('outcome', 'success or failure');
          break;
        case '_count':
        case '_before': {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1 || (name === '_count' && n > 1000)) throw bad(name, name === '_count' ? '1–1000' : 'an AuditEvent id');
          if (name === '_count') filter.count = n;
          else filter.before = n;
          break;
        }
        default:
          throw bad(name, 'not a search parameter of AuditEvent here (date, agent, patient, subtype, outcome, _count, _before)');
      }
    }
  }
  return filter as EventFilter;
}
const typePattern = /^[A-Z][A-Za-z]{1,40}$/;

/** The audit action a FHIR route performs (for events of failed requests too). */
function actionOf(request: FastifyRequest): AuditAction {
  const route = request.routeOptions.url ?? '';
  if (route.endsWith('/AuditEvent') || route.endsWith('/$access-log')) return 'audit.read';
  if (route.endsWith('/audit/emergency-access/:id/review')) return 'access.emergency_reviewed';
  if (route.endsWith('/_history')) return 'record.history-read';
  if (route.endsWith('/$everything')) return 'record.exported';
  switch (request.method) {
    case 'POST':
      return route.endsWith('/fhir/') ? 'bundle.processed' : route.endsWith('/_search') ? 'record.searched' : 'record.created';
    case 'PUT':
      return 'record.updated';
    case 'DELETE':
      return 'record.deleted';
    default:
      return route.endsWith('/:type') ? 'record.searched' : 'record.read';
  }
}

/** The access context of a request that passed the pipeline (principal, purpose, break-the-glass). */
const contextOf = (request: FastifyRequest): AccessContext => ({
  tenantId: request.tenantId,
  principal: request.principal as Principal,
  purpose: request.purpose,
  requestId: request.id,
  sourceIp: request.ip,
  ...(request.emergencyReason === undefined ? {} : { emergencyReason: request.emergencyReason }),
});

/** An audit event of this request: ids, patients and data classes only, never contents. */
const eventOf = (request: FastifyRequest, action: AuditAction, disclosed: readonly Disclosed[], status: number, failure?: AppError): AuditEventInput =>
  accessEvent({ principal: request.principal, purpose: request.purpose, requestId: request.id, sourceIp: request.ip }, action, disclosed, status, failure);

/** The security pipeline of every tenant route (numbered above), as one onRequest hook. */
function makeSecurityPipeline(authenticator: Authenticator) {
  return async (request: FastifyRequest): Promise<void> => {
    checkTenantParam(request);
    if (request.routeOptions.config.need === undefined) return;
    request.principal = await authenticator.principal(request, request.tenantId, { appTokens: true });
    checkPermission(request);
    checkAccept(request);
    checkContentType(request);
    checkBreakGlass(request);
    checkPurpose(request);
  };
}

/**
 * A failed request by a caller who proved to be of this tenant is an audit event too (a denied
 * or failed access is what detection looks for). Before that point — no valid credential for
 * the tenant — the access log has it. Returns the error to answer with (503 if even that fails).
 */
async function auditFailure(audit: Audit, request: FastifyRequest, appError: AppError): Promise<AppError> {
  if (request.principal === null || request.principal.tenantId !== request.tenantId) return appError;
  const { type, id } = (request.params ?? {}) as { type?: string; id?: string };
  const ref = type !== undefined && typePattern.test(type) ? (id !== undefined && idPattern.test(id) ? `${type}/${id}` : type) : '';
  request.purpose ??= defaultPurpose[request.principal.role];
  return recordFailure(audit, { tenantId: request.tenantId, principal: request.principal, purpose: request.purpose, requestId: request.id, sourceIp: request.ip }, actionOf(request), ref, appError);
}

/**
 * GDPR Art. 18: an answer that discloses a restricted patient's data says so in a header as well
 * as in each resource's meta.security. The label is set only by the guard (stripped from
 * incoming writes), so finding it in the body is finding a restricted patient in the answer.
 */
const restrictedLabel = `"code":"${restrictedTag.code}"`;
async function markRestricted(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload === 'string' && payload.includes(restrictedLabel)) reply.header('x-processing-restricted', 'true');
  return payload;
}

export function fhirRoutes(deps: FhirRoutesDeps) {
  const { records, bundles, storage, audit, clock, access } = deps;

  /** Reads: the response waits until its event is durable (fail closed). */
  const recorded = (request: FastifyRequest, action: AuditAction, disclosed: readonly Disclosed[], status = 200) => access.recorded(contextOf(request), action, disclosed, status);

  const bundleAudit = (request: FastifyRequest): BundleAudit => {
    const actions = { created: 'record.created', updated: 'record.updated', deleted: 'record.deleted', read: 'record.read', searched: 'record.searched', denied: 'access.denied' } as const;
    return {
      event: (kind, disclosed, status, failure) => eventOf(request, actions[kind], disclosed, status, failure),
      appendIn: async (tx, events) => void (await audit.appendIn(tx, request.tenantId, events)),
      record: (events) => audit.record(request.tenantId, events),
    };
  };
  const securityPipeline = makeSecurityPipeline(deps.authenticator);

  /**
   * The permission matrix for this request's records (guard.ts). A break-the-glass grant is an
   * audit event of its own, durable before anything outside the normal scope is disclosed.
   */
  const guardOf = (request: FastifyRequest): RecordGuard => access.guardOf(contextOf(request));

  const baseUrl = (request: FastifyRequest) => `${deps.publicUrl ?? `${request.protocol}://${request.host}`}/tenants/${request.tenantId}/fhir`;
  const tenantData = async (request: FastifyRequest): Promise<TenantData> => ({ tenantId: request.tenantId, db: await storage.tenant(request.tenantId) });

  function sendResource(reply: FastifyReply, stored: StoredResource, status = 200): FastifyReply {
    return reply
      .status(status)
      .header('etag', `W/"${stored.versionId}"`)
      .header('last-modified', new Date(stored.lastUpdated).toUTCString())
      .type(fhirJson)
      .send(stored.content);
  }

  function sendWritten(request: FastifyRequest, reply: FastifyReply, stored: StoredResource, status: number): FastifyReply {
    reply.header('location', `${baseUrl(request)}/${stored.type}/${stored.id}/_history/${stored.versionId}`);
    // RFC 7240 Prefer: return=minimal asks for headers only.
    if (/return=minimal/.test(String(request.headers.prefer ?? ''))) {
      return reply.status(status).header('etag', `W/"${stored.versionId}"`).header('last-modified', new Date(stored.lastUpdated).toUTCString()).send();
    }
    return sendResource(reply, stored, status);
  }

  /**
   * `If-None-Exist` (R4 §3.1.0.8.1): its criteria, once the caller proved it may search the type
   * with them — the answer tells whether a record matches. Only matches within the caller's
   * reach count, as in its own search: a record it may not see neither blocks nor is returned.
   */
  function conditionOf(request: FastifyRequest, guard: RecordGuard, type: string): string | undefined {
    const header = request.headers['if-none-exist'];
    if (header === undefined) return undefined;
    const criteria = Array.isArray(header) ? header.join('&') : header;
    guard.allow(type, 'search');
    guard.checkSearch(type, parseIfNoneExist(criteria));
    return criteria;
  }

  const lenient = (request: FastifyRequest) => /handling=lenient/.test(String(request.headers.prefer ?? ''));
  const need = (action: RecordAction): RouteShorthandOptions => ({ config: { need: { action } } });
  const auditRead: RouteShorthandOptions = { config: { need: { capability: 'audit:read' } } };

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.decorateRequest('principal', null);
    app.decorateRequest('tenantId', '');
    app.decorateRequest('purpose', undefined as unknown as PurposeOfUse);
    app.decorateRequest('emergencyReason', undefined);

    // Only JSON and (for _search) forms: Fastify's built-in text/plain parser is removed so that
    // any other Content-Type is a 415, not a string handed to the handlers.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, [...new URLSearchParams(String(body))]);
    });

    app.addHook('onRequest', securityPipeline);
    app.addHook('onSend', markRestricted);

    app.setErrorHandler(async (error, request, reply) => {
      const appError = await auditFailure(audit, request, fromFrameworkError(error, 'application/fhir+json or application/json'));
      if (appError.status >= 500 && appError.status !== 501 && appError.code !== 'storage-unavailable') request.log.error({ err: describeErrorForLog(appError) }, 'request failed');
      for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
      const message = appError.expose ? appError.message : 'Internal error.';
      return reply.status(appError.status).type(fhirJson).send(JSON.stringify(operationOutcome(appError.status, appError.code, message, appError.expose ? appError.issues : [])));
    });

    app.setNotFoundHandler((request, reply) => {
      const known = /^\/tenants\/[^/]+\/fhir\/[A-Za-z]+(\/[^/]+(\/_history(\/[^/]+)?)?)?\/?$/.test(request.url.split('?', 1)[0] ?? '');
      const error = known
        ? new RecordError('method-not-allowed', `${request.method} is not supported on this path.`, { status: 405 })
        : new RecordError('not-found', 'No such FHIR endpoint.', { status: 404 });
      return reply.status(error.status).type(fhirJson).send(JSON.stringify(operationOutcome(error.status, error.code, error.message)));
    });

    app.get('/metadata', async (request, reply) => {
      checkAccept(request);
      return reply.type(fhirJson).send(JSON.stringify(capabilityStatement(baseUrl(request), deps.version, clock.now().toISOString())));
    });

    // The audit trail, for the auditor role: as FHIR AuditEvent resources, newest first. Reading
    // the audit trail is itself an audit event.
    const bundleOf = (request: FastifyRequest, entries: ReadonlyArray<{ seq: number; resource: unknown }>, next: number | undefined) => {
      const self = `${baseUrl(request)}${request.url.slice(request.url.indexOf('/fhir') + 5)}`;
      const nextUrl = (before: number) => {
        const url = new URL(self);
        url.searchParams.set('_before', String(before));
        return url.toString();
      };
      return JSON.stringify({
        resourceType: 'Bundle',
        type: 'searchset',
        timestamp: clock.now().toISOString(),
        link: [{ relation: 'self', url: self }, ...(next === undefined ? [] : [{ relation: 'next', url: nextUrl(next) }])],
        entry: entries.map((e) => ({ fullUrl: `${baseUrl(request)}/AuditEvent/${e.seq}`, resource: e.resource, search: { mode: 'match' } })),
      });
    };
    app.get('/AuditEvent', auditRead, async (request, reply) => {
      const filter = parseAuditFilter(request.query as Record<string, unknown>);
      const events = await audit.query(request.tenantId, { ...filter, count: filter.count + 1 });
      const page = events.slice(0, filter.count);
      await recorded(request, 'audit.read', []);
      return reply.type(fhirJson).send(bundleOf(request, page.map((event) => ({ seq: event.seq, resource: toAuditEvent(event) })), events.length > filter.count ? page.at(-1)?.seq : undefined));
    });
    // "Who saw my data": every access to this patient's records — for an auditor, and for the
    // patient themself (their own Patient only). A patient gets each entry with the reader's role
    // and name, and nothing of other patients or of anyone's network address (access.ts).
    app.get('/Patient/:id/$access-log', { config: { need: { accessLog: true } } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!idPattern.test(id)) throw new RecordError('id-invalid', 'A FHIR id is 1–64 of A–Z, a–z, 0–9, "-" and ".".', { status: 400 });
      const patient = `Patient/${id}`;
      const log = await access.accessLog(contextOf(request), patient, parseAuditFilter(request.query as Record<string, unknown>, patient));
      const forPatient = (request.principal as Principal).role === 'patient';
      const entries = forPatient ? log.entries.map((entry) => ({ seq: entry.seq, resource: patientAuditEvent(entry, patient) })) : log.events.map((event) => ({ seq: event.seq, resource: toAuditEvent(event) }));
      return reply.type(fhirJson).send(bundleOf(request, entries, log.next));
    });

    // FHIR R4 Patient/$everything: the patient's compartment, page by page, each record through
    // the caller's guard and each page audited as `record.exported` (privacy/everything.ts).
    const everything = deps.everything;
    if (everything !== undefined) {
      app.get('/Patient/:id/$everything', { config: { need: { bundle: true } } }, async (request, reply) => {
        const { id } = request.params as { id: string };
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        return reply.type(fhirJson).send(await everything.answer(contextOf(request), id, [...new URLSearchParams(query)], baseUrl(request)));
      });
    }

    // A Bundle needs, entry by entry, what the same request would need on its own.
    app.post('/', { config: { need: { bundle: true } } }, async (request, reply) => {
      const result = await bundles.process(await tenantData(request), request.body, baseUrl(request), bundleAudit(request), guardOf(request));
      return reply.type(fhirJson).send(result.bundle);
    });

    const search = async (request: FastifyRequest, reply: FastifyReply, params: Array<[string, string]>) => {
      const { type } = request.params as { type: string };
      const result = await access.search(contextOf(request), type, params, { lenient: lenient(request), bases: [baseUrl(request)] });
      return reply.type(fhirJson).send(searchsetBundle(baseUrl(request), type, result, clock.now()));
    };

    app.get('/:type', need('search'), async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      return search(request, reply, [...new URLSearchParams(query)]);
    });

    app.post('/:type/_search', need('search'), async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const form = Array.isArray(request.body) ? (request.body as Array<[string, string]>) : [];
      return search(request, reply, [...new URLSearchParams(query), ...form]);
    });

    app.post('/:type', need('create'), async (request, reply) => {
      const { type } = request.params as { type: string };
      const t = await tenantData(request);
      const guard = guardOf(request);
      const criteria = conditionOf(request, guard, type);
      const admitted = await guard.admit(t, type, { mode: 'create' }, request.body);
      const prepared = await records.prepare(t.tenantId, type, admitted.body, { mode: 'create' });
      await guard.reach(t, prepared.keySubject, `${type}/${prepared.id}`, { newPatient: type === 'Patient' });
      const condition = criteria === undefined ? undefined : await records.prepareCondition(t.tenantId, type, criteria);
      // The change and its audit event commit together, or neither does. A conditional create
      // decides inside the same transaction, so no other create slips in between.
      const outcome = await t.db.transaction(async (tx): Promise<{ created: StoredResource } | { match: string }> => {
        const view = { tenantId: t.tenantId, db: tx };
        if (condition !== undefined) {
          const [match, ...more] = await records.matchCondition(view, condition, guard.scopeOf(type));
          if (more.length > 0) throw multipleMatches(type);
          if (match !== undefined) return { match };
        }
        const created = await records.createIn(view, prepared);
        await audit.appendIn(tx, t.tenantId, [eventOf(request, 'record.created', [disclosedOf(created)], 201)]);
        return { created };
      });
      if ('created' in outcome) return sendWritten(request, reply, await guard.disclose(t, outcome.created, { inScope: true }), 201);
      // R4 §3.1.0.8.1: one match — nothing is created; the match is returned (a read, audited as one).
      const existing = await guard.disclose(t, await records.read(t, type, outcome.match), { inScope: true });
      await recorded(request, 'record.read', [disclosedOf(existing)]);
      return sendWritten(request, reply, existing, 200);
    });

    // Type- and system-level history (R4 §3.1.0.5) are not offered: without these routes `_history`
    // would be read as a resource id and answered with a puzzling id error.
    const historyUnsupported = () => {
      throw new RecordError('history-unsupported', 'History is served per resource (GET …/{Type}/{id}/_history); type-level and system-level history are not supported.', { status: 501 });
    };
    app.get('/:type/_history', need('history'), historyUnsupported);
    app.get('/_history', { config: { need: { bundle: true } } }, historyUnsupported);

    app.get('/:type/:id', need('read'), async (request, reply) => {
      const { type, id } = request.params as { type: string; id: string };
      return sendResource(reply, await access.read(contextOf(request), type, id));
    });

    app.put('/:type/:id', need('update'), async (request, reply) => {
      const { type, id } = request.params as { type: string; id: string };
      const ifMatch = request.headers['if-match'];
      const t = await tenantData(request);
      const guard = guardOf(request);
      const admitted = await guard.admit(t, type, { mode: 'update', id }, request.body);
      const prepared = await records.prepare(t.tenantId, type, admitted.body, { mode: 'update', id });
      // A Patient's own reach was decided by admit (or it is new); anything else may not be moved out of reach.
      if (type !== 'Patient') await guard.reach(t, prepared.keySubject, `${type}/${id}`);
      const { resource, created } = await t.db.transaction(async (tx) => {
        const result = await records.updateIn({ tenantId: t.tenantId, db: tx }, prepared, typeof ifMatch === 'string' ? ifMatch : admitted.ifMatch);
        await audit.appendIn(tx, t.tenantId, [eventOf(request, result.created ? 'record.created' : 'record.updated', [disclosedOf(result.resource)], result.created ? 201 : 200)]);
        return result;
      });
      return sendWritten(request, reply, await guard.disclose(t, resource, { inScope: true }), created ? 201 : 200);
    });

    app.delete('/:type/:id', need('delete'), async (request, reply) => {
      const { type, id } = request.params as { type: string; id: string };
      const ifMatch = request.headers['if-match'];
      const t = await tenantData(request);
      const current = await records.peek(t, type, id);
      if (current !== undefined) await guardOf(request).reach(t, current.subject, `${type}/${id}`, { action: 'delete' });
      const { versionId } = await t.db.transaction(async (tx) => {
        const result = await records.deleteIn({ tenantId: t.tenantId, db: tx }, type, id, typeof ifMatch === 'string' ? ifMatch : undefined);
        await audit.appendIn(tx, t.tenantId, [eventOf(request, 'record.deleted', [{ ref: `${type}/${id}`, subject: result.subject ?? '_tenant', classes: [] }], 204)]);
        return result;
      });
      if (versionId !== undefined) reply.header('etag', `W/"${versionId}"`);
      return reply.status(204).send();
    });

    app.get('/:type/:id/_history', need('history'), async (request, reply) => {
      const { type, id } = request.params as { type: string; id: string };
      const q = request.query as Record<string, string | undefined>;
      for (const name of Object.keys(q)) {
        if (name !== '_count' && name !== '_offset' && name !== '_format') throw new RecordError('search-invalid', `History does not support ${name}.`, { status: 400, issues: [{ expression: name, diagnostics: 'Unsupported.' }] });
      }
      const count = q['_count'] === undefined ? 100 : Number(q['_count']);
      const offset = q['_offset'] === undefined ? 0 : Number(q['_offset']);
      if (!Number.isInteger(count) || count < 1 || count > 1000 || !Number.isInteger(offset) || offset < 0 || offset > 100_000) {
        throw new RecordError('search-invalid', '_count is 1–1000 and _offset 0–100000.', { status: 400 });
      }
      const t = await tenantData(request);
      const guard = guardOf(request);
      const current = await records.peek(t, type, id);
      if (current !== undefined) await guard.reach(t, current.subject, `${type}/${id}`);
      const raw = await records.history(t, type, id, { count, offset });
      const entries = await Promise.all(
        raw.entries.map(async (e) => {
          if (e.content === null || e.disclosure === null) return e;
          // Each version by its own subject: a record may have been about another patient before.
          const shown = await guard.disclose(t, { type, id, content: e.content, ...e.disclosure });
          return { ...e, content: shown.content, disclosure: { subject: shown.subject, classes: shown.classes } };
        }),
      );
      await recorded(
        request,
        'record.history-read',
        entries.flatMap((e) => (e.disclosure === null ? [] : [{ ref: `${type}/${id}/_history/${e.versionId}`, ...e.disclosure }])),
      );
      return reply.type(fhirJson).send(historyBundle(baseUrl(request), type, id, { ...raw, entries }, { count, offset }, clock.now()));
    });

    app.get('/:type/:id/_history/:versionId', need('read'), async (request, reply) => {
      const { type, id, versionId } = request.params as { type: string; id: string; versionId: string };
      const t = await tenantData(request);
      const stored = await guardOf(request).disclose(t, await records.vread(t, type, id, versionId));
      await recorded(request, 'record.read', [disclosedOf(stored)]);
      return sendResource(reply, stored);
    });
  };
}

export interface AuditApiDeps {
  readonly audit: Audit;
  readonly authenticator: Authenticator;
  readonly publicUrl: string | undefined;
}

/**
 * `GET /tenants/{t}/audit`: the audit trail as plain JSON for the auditor role (the same events
 * as `…/fhir/AuditEvent`), newest first. Filters: `from`, `to` (ISO 8601 date or dateTime),
 * `actor`, `patient`, `action` (comma = OR), `outcome`, `limit` (1–1000, default 100), `before`
 * (paging; `next` carries it). Errors are RFC 9457 problem+json.
 */
export function auditApiRoutes(deps: AuditApiDeps) {
  const { audit } = deps;
  const review = createEmergencyReview(audit);
  const securityPipeline = makeSecurityPipeline(deps.authenticator);
  const names: Readonly<Record<string, string>> = { actor: 'agent', patient: 'patient', action: 'subtype', outcome: 'outcome', limit: '_count', before: '_before' };
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.decorateRequest('principal', null);
    app.decorateRequest('tenantId', '');
    app.decorateRequest('purpose', undefined as unknown as PurposeOfUse);
    app.addHook('onRequest', securityPipeline);
    app.setErrorHandler(async (error, request, reply) => {
      const appError = await auditFailure(audit, request, fromFrameworkError(error));
      if (appError.status >= 500 && appError.code !== 'storage-unavailable') request.log.error({ err: describeErrorForLog(appError) }, 'request failed');
      return sendProblem(reply, appError);
    });
    const list = async (request: FastifyRequest, reply: FastifyReply, only?: AuditAction) => {
      // The same filter as the FHIR search, under plain names.
      const translated: Record<string, string[]> = {};
      for (const [name, raw] of Object.entries(request.query as Record<string, unknown>)) {
        const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
        const fhirName = name === 'from' || name === 'to' ? 'date' : names[name];
        if (fhirName === undefined) throw new RecordError('search-invalid', `${name}: not a filter of the audit trail (from, to, actor, patient, action, outcome, limit, before)`, { status: 400 });
        translated[fhirName] = [...(translated[fhirName] ?? []), ...values.map((v) => (name === 'from' ? `ge${v}` : name === 'to' ? `le${v}` : v))];
      }
      const filter = parseAuditFilter(only === undefined ? translated : { ...translated, subtype: [only] });
      const events = await audit.query(request.tenantId, { ...filter, count: filter.count + 1 });
      const page = events.slice(0, filter.count);
      await audit.record(request.tenantId, [eventOf(request, 'audit.read', filter.patient === undefined ? [] : [{ ref: filter.patient, subject: filter.patient, classes: [] }], 200)]);
      const last = page.at(-1);
      let next: string | null = null;
      if (events.length > filter.count && last !== undefined) {
        const url = new URL(`${deps.publicUrl ?? `${request.protocol}://${request.host}`}${request.url}`);
        url.searchParams.set('before', String(last.seq));
        next = url.toString();
      }
      return reply.type('application/json; charset=utf-8').send(
        JSON.stringify({
          events: page.map(auditEventJson),
          next,
        }),
      );
    };
    app.get('/audit', { config: { need: { capability: 'audit:read' } } }, (request, reply) => list(request, reply));
    // Break-the-glass accesses, for review by someone independent of the clinicians (SPEC I7):
    // the same filters; each event names who, which patients, when, and the reason they gave.
    app.get('/audit/emergency-access', { config: { need: { capability: 'emergency:review' } } }, (request, reply) => list(request, reply, 'access.emergency_granted'));
    // The review queue: the break-the-glass accesses nobody has signed off yet (newest first,
    // at most `limit`, 1–1000, default 100). Reading it is reading the trail: audited.
    app.get('/audit/emergency-access/pending', { config: { need: { capability: 'emergency:review' } } }, async (request, reply) => {
      const { limit: raw, ...rest } = request.query as Record<string, unknown>;
      const limit = raw === undefined ? 100 : Number(raw);
      if (Object.keys(rest).length > 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RecordError('search-invalid', 'The queue takes only limit (1–1000).', { status: 400 });
      const pending = await review.pending(request.tenantId, limit);
      await audit.record(request.tenantId, [eventOf(request, 'audit.read', [], 200)]);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ events: pending.map(auditEventJson) }));
    });
    // A sign-off: `{"verdict": "justified" | "not-justified", "note": "…"}`, recorded as an
    // `access.emergency_reviewed` event referencing the grant. Not by the one who broke the glass.
    app.post('/audit/emergency-access/:id/review', { config: { need: { capability: 'emergency:review' } } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      const access = /^\d{1,15}$/.test(id) ? Number(id) : 0;
      await review.signOff(request.tenantId, {
        access,
        verdict: String(body['verdict'] ?? '') as ReviewVerdict,
        note: typeof body['note'] === 'string' ? body['note'] : '',
        reviewer: actorOf(request.principal),
        purpose: request.purpose,
        requestId: request.id,
        sourceIp: request.ip,
      });
      return reply.status(201).type('application/json; charset=utf-8').send(JSON.stringify({ access, reviewed: true }));
    });
  };
}
