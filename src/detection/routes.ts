import { alertFields } from './alert-payload.js';
import { runbookPath } from './links.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditEventJson, operatorEvent, type Actor, type Audit, type AuditAction } from '../audit/index.js';
import { forbidden, hasCapability, operatorRealm, type Authenticator, type Capability, type OperatorPrincipal, type Principal } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { HttpError } from '../platform/http/index.js';
import { accessEvent, actorOf, defaultPurpose, type AccessContext } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import type { AlertActor, AlertDetail, Alerts } from './alerts.js';
import type { AlertSettings } from './alert-settings.js';
import { DetectionError } from './errors.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { alertStates, type Alert, type AlertFilter, type AlertState } from './store.js';
import { severities, type Severity } from './types.js';

export interface AlertRoutesDeps {
  readonly alerts: Alerts;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
  /** `server.publicUrl`: runbook links are absolute when it is set. */
  readonly publicUrl: string | undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An alert as JSON: ids, codes, counts and times — an alert never carries record contents. */
export function alertJson(alert: Alert, runbook: string) {
  return {
    ...alertFields(alert),
    acknowledged: alert.acknowledgedBy === undefined ? null : { by: alert.acknowledgedBy, at: iso(alert.acknowledgedAt) },
    resolved: alert.resolvedBy === undefined ? null : { by: alert.resolvedBy, at: iso(alert.resolvedAt), note: alert.note ?? '' },
    runbook,
  };
}

export function alertDetailJson(detail: AlertDetail, runbook: string) {
  return {
    ...alertJson(detail.alert, runbook),
    ruleTitle: detail.rule?.title ?? detail.alert.title,
    ruleDescription: detail.rule?.describe ?? '',
    events: detail.events.map(auditEventJson),
  };
}

const alertIdShape = /^[0-9a-f-]{36}$/;

/** The `before` of the page after the one ending in `last`: opaque, the pair the list is ordered by (page-token.ts). */
export const nextPageBefore = (last: Pick<Alert, 'lastAt' | 'id'>): string => encodePageToken({ at: last.lastAt, key: last.id });

const invalid = (message: string) => new DetectionError('alert-invalid', message, { status: 400, expose: true });
const filterNames = ['state', 'severity', 'rule', 'before', 'limit'] as const;

/**
 * The filter of `GET …/alerts` (and the console's list): `state`, `severity`, `rule` (one value
 * each), `before` (an ISO 8601 date-time: alerts last seen before it, for paging), `limit`
 * (1–500, default 50). Anything else is a 400 naming the parameter: a typo must not silently
 * show every alert. A `before` taken from a `next` link is an opaque token (the last alert's
 * time and id, so alerts sharing a time at a page's edge are not skipped); a date-time is still
 * taken, as it always was.
 */
export function parseAlertFilter(query: Record<string, unknown>, ruleIds: readonly string[]): Partial<AlertFilter> & { limit: number } {
  const filter: { -readonly [K in keyof AlertFilter]?: AlertFilter[K] } = {};
  for (const [name, raw] of Object.entries(query)) {
    if (!(filterNames as readonly string[]).includes(name)) throw invalid(`${name}: not a filter of alerts (${filterNames.join(', ')})`);
    if (typeof raw !== 'string') throw invalid(`${name}: give it once`);
    const value = raw.trim();
    if (value === '') continue;
    if (name === 'state') {
      if (!(alertStates as readonly string[]).includes(value)) throw invalid(`state: one of ${alertStates.join(', ')}`);
      filter.state = value as AlertState;
    } else if (name === 'severity') {
      if (!(severities as readonly string[]).includes(value)) throw invalid(`severity: one of ${severities.join(', ')}`);
      filter.severity = value as Severity;
    } else if (name === 'rule') {
      if (!ruleIds.includes(value)) throw invalid('rule: the id of a rule (see /runbooks/)');
      filter.rule = value;
    } else if (name === 'before') {
      const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : Number.NaN;
      const place = Number.isNaN(at) ? decodePageToken(value) : undefined;
      if (Number.isNaN(at) && (place === undefined || !alertIdShape.test(place.key))) throw invalid('before: the token of a next link, or an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z');
      filter.before = place?.at ?? at;
      if (place !== undefined) filter.beforeId = place.key;
    } else {
      const limit = /^\d{1,4}$/.test(value) ? Number(value) : 0;
      if (limit < 1 || limit > 500) throw invalid('limit: 1 to 500');
      filter.limit = limit;
    }
  }
  return { ...filter, limit: filter.limit ?? 50 };
}

/** What a caller does, as the audit trail names it: reading alerts is reading the trail. */
export type AlertAct = 'read' | 'acknowledge' | 'resolve' | 'settings';
const actionOf: Readonly<Record<AlertAct, AuditAction>> = { read: 'audit.read', acknowledge: 'alert.acknowledged', resolve: 'alert.resolved', settings: 'alert.settings_changed' };

/** A realm's caller, admitted: who it is for the alert's record, and how its reads are audited. */
export interface Admitted {
  readonly realm: string;
  readonly by: AlertActor;
  /** Records a successful read (`audit.read`, naming the alerts read), durable before the answer. */
  recordRead(resources: readonly string[]): Promise<void>;
  /** Records a refusal of an admitted caller (a 4xx after the door) and returns the error to send. */
  failed(act: AlertAct, ref: string, error: AppError): Promise<AppError>;
}

/**
 * A tenant's caller of the alerts (API or page), whose role must have `need`; a refusal is an
 * `access.denied` event in the tenant's trail before the 403 (OWASP ASVS 5 V8.2.1, V16.3.2).
 */
export async function admitTenant(audit: Audit, request: FastifyRequest, realm: string, principal: Principal, need: Capability): Promise<Admitted> {
  const ctx: AccessContext = { tenantId: realm, principal, purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip };
  const admitted: Admitted = {
    realm,
    by: { actor: actorOf(principal), requestId: request.id, sourceIp: request.ip },
    async recordRead(resources) {
      await audit.record(realm, [accessEvent(ctx, 'audit.read', resources.map((ref) => ({ ref, subject: '_tenant', classes: [] })), 200)]);
    },
    async failed(act, ref, error) {
      // As the FHIR and audit APIs record theirs: a 403 is access.denied, else the act failed.
      await audit.record(realm, [accessEvent(ctx, error.status === 403 ? 'access.denied' : actionOf[act], ref === '' ? [] : [{ ref, subject: '_tenant', classes: [] }], error.status, error)]);
      return error;
    },
  };
  if (!hasCapability(principal.role, need)) throw await admitted.failed('read', '', forbidden(`Your role (${principal.role}) does not allow this (${need}).`));
  return admitted;
}

/** A platform operator (role `operator`) as a caller of the platform's alerts: events go to the operators' trail. */
export function admitOperator(audit: Audit, request: FastifyRequest, operator: OperatorPrincipal): Admitted {
  const actor: Actor = { id: `operator:${operator.id}`, role: operator.role, client: 'session' };
  const event = (action: AuditAction, resources: readonly string[], fields: { outcome?: 'failure'; detail?: string; status?: number } = {}) => ({
    ...operatorEvent(action, actor, { resources, ...(fields.detail === undefined ? {} : { detail: fields.detail }), ...(fields.outcome === undefined ? {} : { outcome: fields.outcome }) }),
    requestId: request.id,
    sourceIp: request.ip,
    status: fields.status ?? 200,
  });
  return {
    realm: operatorRealm,
    by: { actor, requestId: request.id, sourceIp: request.ip },
    async recordRead(resources) {
      await audit.record(operatorRealm, [event('audit.read', resources)]);
    },
    async failed(act, ref, error) {
      await audit.record(operatorRealm, [event(error.status === 403 ? 'access.denied' : actionOf[act], ref === '' ? [] : [ref], { outcome: 'failure', detail: error.code, status: error.status })]);
      return error;
    },
  };
}

/** Runs `work` for an admitted caller; a refusal it meets (400, 404, 409) is audited as a failure. */
export async function attemptAs<T>(caller: Admitted, act: AlertAct, ref: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && error.status < 500) throw await caller.failed(act, ref, error);
    throw error;
  }
}

const body = (request: FastifyRequest): Record<string, unknown> => {
  const value = request.body as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
  return value as Record<string, unknown>;
};

/**
 * The alerts API (JSON; errors RFC 9457 problem+json with the error `code`):
 *
 * - under `/tenants/{t}`: for people and API keys whose role has `alerts:read` (tenant-admin,
 *   auditor) — `GET /alerts`, `GET /alerts/{id}` (the alert, its rule, its events as the audit
 *   API renders them, the runbook link), `GET /alerts/settings`; with `alerts:manage` —
 *   `POST /alerts/{id}/acknowledge`, `POST /alerts/{id}/resolve` `{note}`, `PUT /alerts/settings`.
 *   A refusal is `access.denied` in the tenant's trail (OWASP ASVS 5 V8.2.1, V16.3.2).
 * - under `/platform`: the same for the platform's own alerts (realm `operators`), for an
 *   operator session with the `operator` role (two factors, always); a `backup-operator` is refused.
 *
 * Every read is an `audit.read` event (alerts are drawn from the trail; reading them is reading
 * it, as `GET /audit` records); every change is `alert.acknowledged`, `alert.resolved` or
 * `alert.settings_changed` (alerts.ts). An alert id of another tenant is 404: each realm's alerts
 * live in its own data set.
 */
export function alertRoutes({ alerts, authenticator, audit, publicUrl }: AlertRoutesDeps) {
  const base = (publicUrl ?? '').replace(/\/$/, '');
  const runbookOf = (rule: string) => `${base}${runbookPath(rule)}`;
  const ruleIds = alerts.rules.map((r) => r.id);

  async function tenantCaller(request: FastifyRequest, need: Capability): Promise<Admitted> {
    const realm = parseTenantId((request.params as { tenant: string }).tenant);
    return admitTenant(audit, request, realm, await authenticator.principal(request, realm), need);
  }

  async function operatorCaller(request: FastifyRequest): Promise<Admitted> {
    // The `operator` role only: a backup operator reaches backups and nothing else (realm.ts).
    return admitOperator(audit, request, await authenticator.operator(request, 'operator'));
  }

  function routes(app: FastifyInstance, admit: (request: FastifyRequest, need: Capability) => Promise<Admitted>): void {
    app.get('/alerts', async (request, reply) => {
      const caller = await admit(request, 'alerts:read');
      const query = (request.query ?? {}) as Record<string, unknown>;
      const filter = await attemptAs(caller, 'read', '', async () => parseAlertFilter(query, ruleIds));
      const list = await alerts.list(caller.realm, { ...filter, limit: filter.limit + 1 });
      const page = list.slice(0, filter.limit);
      await caller.recordRead(page.map((a) => `Alert/${a.id}`));
      const last = page.at(-1);
      let next: string | null = null;
      // alerts.list returns at most 500: a full page of 500 may have more behind it.
      if ((list.length > filter.limit || list.length === 500) && last !== undefined) {
        const url = new URL(request.url, 'https://tresor.invalid');
        url.searchParams.set('before', nextPageBefore(last));
        next = `${base}${url.pathname}${url.search}`;
      }
      return json(reply, { alerts: page.map((a) => alertJson(a, runbookOf(a.rule))), counts: await alerts.counts(caller.realm), next });
    });

    app.get('/alerts/settings', async (request, reply) => {
      const caller = await admit(request, 'alerts:read');
      const settings = await alerts.settings(caller.realm);
      await caller.recordRead(['AlertSettings']);
      return json(reply, settingsJson(settings));
    });

    app.put('/alerts/settings', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request, 'alerts:manage');
      const settings = await attemptAs(caller, 'settings', 'AlertSettings', () => alerts.saveSettings(caller.realm, body(request), caller.by));
      return json(reply, settingsJson(settings));
    });

    app.get('/alerts/:id', async (request, reply) => {
      const caller = await admit(request, 'alerts:read');
      const { id } = request.params as { id: string };
      const detail = await attemptAs(caller, 'read', '', () => alerts.get(caller.realm, id));
      await caller.recordRead([`Alert/${detail.alert.id}`]);
      return json(reply, alertDetailJson(detail, runbookOf(detail.alert.rule)));
    });

    app.post('/alerts/:id/acknowledge', async (request, reply) => {
      const caller = await admit(request, 'alerts:manage');
      const { id } = request.params as { id: string };
      const alert = await attemptAs(caller, 'acknowledge', refOf(id), () => alerts.acknowledge(caller.realm, id, caller.by));
      return json(reply, alertJson(alert, runbookOf(alert.rule)));
    });

    app.post('/alerts/:id/resolve', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request, 'alerts:manage');
      const { id } = request.params as { id: string };
      const alert = await attemptAs(caller, 'resolve', refOf(id), async () => {
        const note = body(request)['note'];
        if (typeof note !== 'string') throw invalid('"note" is a string: what was found and done.');
        return alerts.resolve(caller.realm, id, caller.by, note);
      });
      return json(reply, alertJson(alert, runbookOf(alert.rule)));
    });
  }

  return {
    /** Under `/tenants/:tenant`. */
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      routes(app, tenantCaller);
    },
    /** Under `/platform`. */
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      routes(app, (request) => operatorCaller(request));
    },
  };
}

// Only an id of the alerts' shape goes into the trail (the store refuses others with 404).
export const refOf = (id: string): string => (/^[0-9a-f-]{36}$/.test(id) ? `Alert/${id}` : '');

const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.type('application/json; charset=utf-8').send(JSON.stringify(value));

const settingsJson = (s: AlertSettings) => ({
  timeZone: s.timeZone,
  workingHours: s.workingHours,
  // Absent when unset, so what GET answers can be sent back with PUT as it is.
  ...(s.securityContact === undefined ? {} : { securityContact: s.securityContact }),
  ...(s.quietHours === undefined ? {} : { quietHours: s.quietHours }),
});
