import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import type { Authenticator } from '../identity/index.js';
import { routeCallers, type IncidentCaller } from '../incidents/index.js';
import type { AssessmentView, Assessments, ItemChange } from './assessments.js';
import { answers, type Answer } from './assessment-types.js';
import { invalidAssessment } from './errors.js';

export interface AssessmentRoutesDeps {
  readonly assessments: Assessments;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

type Body = Record<string, unknown>;

const bodyOf = (request: FastifyRequest, fields: readonly string[]): Body => {
  const value = request.body as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidAssessment('Send a JSON object.');
  for (const name of Object.keys(value)) if (!fields.includes(name)) throw invalidAssessment(`${name}: not a field here (${fields.join(', ')})`);
  return value as Body;
};

function timeOf(value: unknown, name: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalidAssessment(`${name}: a time, ISO 8601 with its offset or milliseconds since the epoch`);
  return ms;
}

function textOf(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidAssessment(`${name}: text`);
  return value;
}

/** The JSON of the checklist: times as ISO 8601 beside their milliseconds. */
export function assessmentJson(view: AssessmentView): unknown {
  const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
  return {
    ...view,
    awareAtIso: iso(view.awareAt),
    items: view.items.map((item) => ({ ...item, dueAtIso: iso(item.dueAt) })),
  };
}

/** `{ answer, reason }` and/or `{ done: { how, at } | null }`. */
export function parseItemChange(body: Body): ItemChange {
  const change: { -readonly [K in keyof ItemChange]?: ItemChange[K] } = {};
  if ('answer' in body) {
    const answer = body['answer'];
    if (answer !== null && !(typeof answer === 'string' && (answers as readonly string[]).includes(answer))) throw invalidAssessment(`answer: one of ${answers.join(', ')}, or null to remove the override`);
    change.answer = answer as Answer | null;
    change.reason = textOf(body['reason'] ?? '', 'reason');
  } else if ('reason' in body) throw invalidAssessment('reason: goes with an answer');
  if ('done' in body) {
    const done = body['done'];
    if (done === null || done === false) change.done = null;
    else if (typeof done === 'object' && !Array.isArray(done)) {
      const fields = done as Body;
      change.done = { how: textOf(fields['how'], 'done.how'), ...(fields['at'] === undefined ? {} : { at: timeOf(fields['at'], 'done.at') }) };
    } else throw invalidAssessment('done: { "how": "…", "at": "…" } or null');
  }
  return change;
}

const json = (reply: FastifyReply, value: unknown, status = 200): FastifyReply => reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(value));

/**
 * The breach notification checklist of an incident (RFC 9457 problem+json errors):
 *
 * - `/platform/incidents/{id}/assessment`: an operator (role `operator`, two factors) reads it,
 *   computes it from a frozen scope (POST `{ "scopeId"? }`, the newest by default), overrides an
 *   item's answer with a reason or marks it done (PATCH `…/items/{item}`), and sets the time of
 *   awareness with a reason (PUT `…/awareness`).
 * - `/tenants/{t}/incidents/{id}/assessment`: a role with `notification:read` (tenant admin,
 *   auditor) reads the tenant's own items.
 *
 * Reads are `audit.read` events; refusals after the door are recorded (OWASP ASVS 5 V16.3.2).
 */
export function assessmentRoutes({ assessments, authenticator, audit }: AssessmentRoutesDeps) {
  const callers = routeCallers({ authenticator, audit });
  const attempt = callers.attempt;
  const operatorCaller = (request: FastifyRequest) => callers.operator(request);
  const tenantCaller = (request: FastifyRequest) => callers.tenant(request, 'notification:read');

  const id = (request: FastifyRequest) => (request.params as { id: string }).id;

  async function read(caller: IncidentCaller, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const view = await attempt(caller, 'audit.read', request, () => assessments.get(caller, id(request)));
    await callers.recordRead(caller, callers.incidentRef(request), `notification assessment items=${view.items.length}`);
    return json(reply, assessmentJson(view));
  }

  return {
    /** Under `/platform`. */
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/incidents/:id/assessment', async (request, reply) => read(await operatorCaller(request), request, reply));

      app.post('/incidents/:id/assessment', { bodyLimit: 4 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const view = await attempt(caller, 'notification.assessed', request, async () => {
          const body = request.body === undefined || request.body === null ? {} : bodyOf(request, ['scopeId']);
          const scopeId = body['scopeId'] === undefined ? undefined : textOf(body['scopeId'], 'scopeId');
          return assessments.compute(caller, id(request), scopeId);
        });
        return json(reply, assessmentJson(view), 201);
      });

      app.patch('/incidents/:id/assessment/items/:item', { bodyLimit: 16 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const view = await attempt(caller, 'notification.item_changed', request, async () => {
          const change = parseItemChange(bodyOf(request, ['answer', 'reason', 'done']));
          return assessments.changeItem(caller, id(request), (request.params as { item: string }).item, change);
        });
        return json(reply, assessmentJson(view));
      });

      app.put('/incidents/:id/assessment/awareness', { bodyLimit: 16 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const view = await attempt(caller, 'notification.awareness_set', request, async () => {
          const body = bodyOf(request, ['at', 'reason']);
          return assessments.setAwareness(caller, id(request), timeOf(body['at'], 'at'), textOf(body['reason'] ?? '', 'reason'));
        });
        return json(reply, assessmentJson(view));
      });
    },
    /** Under `/tenants/:tenant`. */
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/incidents/:id/assessment', async (request, reply) => read(await tenantCaller(request), request, reply));
    },
  };
}
