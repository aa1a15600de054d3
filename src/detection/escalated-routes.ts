import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operatorEvent, type Audit } from '../audit/index.js';
import type { Authenticator } from '../identity/index.js';
import { parseTenantId } from '../tenants/index.js';
import { alertFields } from './alert-payload.js';
import type { EscalatedAlerts, EscalatedDetail, EscalatedView } from './escalated.js';
import { recordKey, type EscalatedFilter } from './escalated-store.js';
import { DetectionError } from './errors.js';
import { levels } from './escalation-policy.js';
import { escalatedAlertPath, runbookPath } from './links.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { admitOperator, attemptAs, type Admitted } from './routes.js';
import { alertStates, type Alert, type AlertState } from './store.js';

export interface EscalatedRoutesDeps {
  readonly escalated: EscalatedAlerts;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
  readonly publicUrl: string | undefined;
}

const invalid = (message: string) => new DetectionError('alert-invalid', message, { status: 400, expose: true });
const filterNames = ['state', 'before', 'limit'] as const;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** `state` (one of the alert states), `before` (the token of a `next` link), `limit` (1–500, default 50); anything else is a 400 naming it. */
export function parseEscalatedFilter(query: Record<string, unknown>): EscalatedFilter {
  let state: AlertState | undefined;
  let after: EscalatedFilter['after'];
  let limit = 50;
  for (const [name, raw] of Object.entries(query)) {
    if (!(filterNames as readonly string[]).includes(name)) throw invalid(`${name}: not a filter of escalated alerts (${filterNames.join(', ')})`);
    if (typeof raw !== 'string') throw invalid(`${name}: give it once`);
    const value = raw.trim();
    if (value === '') continue;
    if (name === 'state') {
      if (!(alertStates as readonly string[]).includes(value)) throw invalid(`state: one of ${alertStates.join(', ')}`);
      state = value as AlertState;
    } else if (name === 'before') {
      const place = decodePageToken(value);
      if (place === undefined || !/^[a-z0-9-]{1,40}\/[0-9a-f-]{36}$/.test(place.key)) throw invalid('before: the token of a next link');
      after = place;
    } else {
      limit = /^\d{1,4}$/.test(value) ? Number(value) : 0;
      if (limit < 1 || limit > 500) throw invalid('limit: 1 to 500');
    }
  }
  return { ...(state === undefined ? {} : { state }), ...(after === undefined ? {} : { after }), limit };
}

/** The `before` of the page after the one ending in `view`. */
export const nextEscalatedBefore = (view: EscalatedView): string => encodePageToken({ at: view.record.reachedAt, key: recordKey(view.record) });

/** The alert as it is now (the tenant's), or as last known when its data set could not be read. */
export function currentAlert(view: EscalatedView): Alert {
  const r = view.record;
  return view.alert ?? { id: r.alertId, realm: r.realm, rule: r.rule, severity: r.severity, title: r.title, subject: r.subject, summary: r.summary, state: r.state, count: r.count, firstAt: r.firstAt, lastAt: r.lastAt };
}

/** The escalation's levels an alert passed, by name, up to the one it reached. */
export const levelNames = ['admins', 'security-contact', 'operators'] as const;
export const levelsReached = (level: number | undefined): Array<(typeof levelNames)[number]> => levelNames.slice(0, Math.min(level ?? levels.operators, levels.operators));

/**
 * An escalated tenant alert as JSON: the outward fields every form of an alert shares
 * (alert-payload.ts), who acknowledged or resolved it and when — not the resolution note, which
 * is the clinic's own text — and when it reached the operators. Ids, codes, counts and times
 * only: never record contents, never the tenant's events.
 */
export function escalatedJson(view: EscalatedView, links: { page: string; runbook: string }) {
  const alert = currentAlert(view);
  return {
    ...alertFields(alert),
    tenant: alert.realm,
    reachedOperators: iso(view.record.reachedAt),
    acknowledged: alert.acknowledgedBy === undefined ? null : { by: alert.acknowledgedBy, at: iso(alert.acknowledgedAt) },
    resolved: alert.resolvedBy === undefined ? null : { by: alert.resolvedBy, at: iso(alert.resolvedAt) },
    stale: view.alert === undefined,
    url: links.page,
    runbook: links.runbook,
  };
}

export function escalatedDetailJson(detail: EscalatedDetail, links: { page: string; runbook: string }) {
  return {
    ...escalatedJson(detail, links),
    ruleTitle: detail.rule?.title ?? detail.record.title,
    ruleDescription: detail.rule?.describe ?? '',
    escalation: {
      levels: levelsReached(detail.step?.level),
      lastStepAt: iso(detail.step?.notifiedAt) ?? null,
      nextStepAt: iso(detail.step?.nextAt) ?? null,
    },
  };
}

/**
 * Tenant alerts escalated to the operators, under `/platform` for an operator session with the
 * `operator` role (as `/platform/alerts`): `GET /alerts/escalated` (filters `state`, `before`,
 * `limit`), `GET /alerts/escalated/{tenant}/{id}` (the alert's outward fields, its state and the
 * escalation's steps — not the tenant's audit events), `POST /alerts/escalated/{tenant}/{id}/acknowledge`
 * (stops the escalation; recorded in the tenant's trail as done by the operator, and in the
 * operators' trail). Every read is an `audit.read` event of the operators' trail; a detail read
 * is one of the tenant's trail too, so the clinic sees who looked at its alert.
 */
export function escalatedRoutes({ escalated, authenticator, audit, publicUrl }: EscalatedRoutesDeps) {
  const base = (publicUrl ?? '').replace(/\/$/, '');
  const linksOf = (alert: { id: string; realm: string; rule: string }) => ({ page: `${base}${escalatedAlertPath(alert)}`, runbook: `${base}${runbookPath(alert.rule)}` });
  const caller = async (request: FastifyRequest): Promise<Admitted> => admitOperator(audit, request, await authenticator.operator(request, 'operator'));
  const params = (request: FastifyRequest) => request.params as { tenant: string; id: string };
  const ref = (tenant: string, id: string) => (/^[a-z0-9-]{1,40}$/.test(tenant) && /^[0-9a-f-]{36}$/.test(id) ? `Tenant/${tenant}/Alert/${id}` : '');

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/alerts/escalated', async (request, reply) => {
      const operator = await caller(request);
      const filter = await attemptAs(operator, 'read', '', async () => parseEscalatedFilter((request.query ?? {}) as Record<string, unknown>));
      const list = await escalated.list({ ...filter, limit: filter.limit + 1 });
      const page = list.slice(0, filter.limit);
      // A record whose tenant alert moved on since it was stored no longer matches the filter: left out (the record follows now).
      const shown = page.filter((v) => filter.state === undefined || currentAlert(v).state === filter.state);
      await operator.recordRead(shown.map((v) => `Tenant/${v.record.realm}/Alert/${v.record.alertId}`));
      const last = page.at(-1);
      let next: string | null = null;
      if (list.length > filter.limit && last !== undefined) {
        const url = new URL(request.url, 'https://tresor.invalid');
        url.searchParams.set('before', nextEscalatedBefore(last));
        next = `${base}${url.pathname}${url.search}`;
      }
      return json(reply, { alerts: shown.map((v) => escalatedJson(v, linksOf(currentAlert(v)))), next });
    });

    app.get('/alerts/escalated/:tenant/:id', async (request, reply) => {
      const operator = await caller(request);
      const { tenant, id } = params(request);
      const detail = await attemptAs(operator, 'read', ref(tenant, id), () => escalated.get(parseTenantId(tenant), id));
      await recordDetailRead(audit, operator, detail);
      return json(reply, escalatedDetailJson(detail, linksOf(currentAlert(detail))));
    });

    app.post('/alerts/escalated/:tenant/:id/acknowledge', async (request, reply) => {
      const operator = await caller(request);
      const { tenant, id } = params(request);
      const view = await attemptAs(operator, 'acknowledge', ref(tenant, id), () => escalated.acknowledge(parseTenantId(tenant), id, operator.by));
      return json(reply, escalatedJson(view, linksOf(currentAlert(view))));
    });
  };
}

/** An operator read one escalated alert: in the operators' trail and in the tenant's (whose alert it is). */
export async function recordDetailRead(audit: Audit, operator: Admitted, detail: EscalatedView): Promise<void> {
  const { realm, alertId } = detail.record;
  await operator.recordRead([`Tenant/${realm}/Alert/${alertId}`]);
  await audit.record(realm, [{ ...operatorEvent('audit.read', operator.by.actor, { resources: [`Alert/${alertId}`], detail: 'escalated to the operators' }), requestId: operator.by.requestId, sourceIp: operator.by.sourceIp, status: 200 }]);
}

const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
