import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../identity/index.js';
import { defaultPurpose, type AccessContext } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import type { Rectifications } from './requests-accept.js';
import { requestCallerOf } from './requests-caller.js';
import { invalidRequest } from './requests-errors.js';
import type { PrivacyRequests } from './requests.js';
import { isRequestState, isRequestType, requestStates, requestTypes, type PrivacyRequest, type RequestCaller } from './requests-types.js';

export interface PrivacyRequestRoutesDeps {
  readonly requests: PrivacyRequests;
  readonly rectifications: Rectifications;
  readonly authenticator: Authenticator;
  readonly now: () => number;
}

type Body = Record<string, unknown>;

const bodyOf = (request: FastifyRequest): Body => {
  const value = request.body as unknown;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('Send a JSON object.');
  return value as Body;
};

const json = (reply: FastifyReply, value: unknown, status = 200): FastifyReply => reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(value));

/** A request as JSON: times as ISO 8601. */
export function requestJson(request: PrivacyRequest & { readonly history?: ReadonlyArray<{ at: number; by: string; action: string; state: string }> }): Record<string, unknown> {
  const iso = (at: number | undefined) => (at === undefined ? undefined : new Date(at).toISOString());
  return {
    id: request.id,
    type: request.type,
    subject: request.subject,
    channel: request.channel,
    state: request.state,
    receivedAt: iso(request.receivedAt),
    dueAt: iso(request.dueAt),
    extendedAt: iso(request.extendedAt),
    owner: request.owner,
    createdBy: request.createdBy,
    updatedAt: iso(request.updatedAt),
    closedAt: iso(request.closedAt),
    ...(request.texts === undefined ? {} : { texts: request.texts }),
    ...(request.history === undefined ? {} : { history: request.history.map((h) => ({ ...h, at: iso(h.at) })) }),
  };
}

/**
 * Data subjects' requests over JSON under `/tenants/{t}/privacy/requests` (errors RFC 9457
 * problem+json with the error `code`): a patient (session or token) files and withdraws their
 * own and reads only theirs; staff with `privacy:manage` record requests received by letter,
 * e-mail or in person (with how identity was verified), see the queue and act on it. Every
 * change and read is audited by the service (requests.ts), refusals included.
 *
 * - `POST …/requests` {type, subject?, channel?, text?, verification?, changes?, receivedAt?}
 * - `GET …/requests?state=&type=&overdue=true`, `GET …/requests/{id}`
 * - `POST …/requests/{id}/assign` {owner} · `/extend` {months, reason} · `/notes` {text}
 * - `POST …/requests/{id}/complete` {note, link?} — or {fulfil: true} (the type's fulfilment), or
 *   {accept: true, note} for a rectification (writes the proposed values)
 * - `POST …/requests/{id}/reject` {reason} · `/withdraw`
 */
export function privacyRequestRoutes({ requests, rectifications, authenticator, now }: PrivacyRequestRoutesDeps) {
  async function callerOf(request: FastifyRequest): Promise<{ tenantId: string; by: RequestCaller; ctx: AccessContext }> {
    const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
    const principal = await authenticator.principal(request, tenantId);
    const ctx: AccessContext = { tenantId, principal, purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip };
    return { tenantId, by: requestCallerOf(principal, request.id, request.ip), ctx };
  }
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.post('/privacy/requests', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      const body = bodyOf(request);
      return json(reply, requestJson(await requests.open(tenantId, by, { type: body['type'], subject: body['subject'], channel: body['channel'], text: body['text'], verification: body['verification'], changes: body['changes'], receivedAt: body['receivedAt'] })), 201);
    });

    app.get('/privacy/requests', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      const query = request.query as Record<string, unknown>;
      const filter: { state?: (typeof requestStates)[number]; type?: (typeof requestTypes)[number]; overdueAt?: number } = {};
      for (const [name, value] of Object.entries(query)) {
        if (name === 'state') {
          if (!isRequestState(value)) throw invalidRequest(`state: one of ${requestStates.join(', ')}`);
          filter.state = value;
        } else if (name === 'type') {
          if (!isRequestType(value)) throw invalidRequest(`type: one of ${requestTypes.join(', ')}`);
          filter.type = value;
        } else if (name === 'overdue') {
          if (value !== 'true' && value !== 'false') throw invalidRequest('overdue: true or false');
          if (value === 'true') filter.overdueAt = now();
        } else {
          throw invalidRequest(`${name}: not a filter of requests (state, type, overdue)`);
        }
      }
      return json(reply, { requests: (await requests.list(tenantId, by, filter)).map(requestJson) });
    });

    app.get('/privacy/requests/:id', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      return json(reply, requestJson(await requests.get(tenantId, by, idOf(request))));
    });

    app.post('/privacy/requests/:id/assign', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      return json(reply, requestJson(await requests.assign(tenantId, by, idOf(request), bodyOf(request)['owner'])));
    });

    app.post('/privacy/requests/:id/extend', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      const body = bodyOf(request);
      return json(reply, requestJson(await requests.extend(tenantId, by, idOf(request), { months: body['months'], reason: body['reason'] })));
    });

    app.post('/privacy/requests/:id/notes', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      return json(reply, requestJson(await requests.note(tenantId, by, idOf(request), bodyOf(request)['text'])));
    });

    app.post('/privacy/requests/:id/complete', async (request, reply) => {
      const { tenantId, by, ctx } = await callerOf(request);
      const body = bodyOf(request);
      const link = body['link'];
      if (link !== undefined && typeof link !== 'string') throw invalidRequest('link: a path or an https address');
      const done =
        body['fulfil'] === true
          ? await requests.fulfil(tenantId, by, idOf(request))
          : body['accept'] === true
            ? await rectifications.accept(ctx, by, idOf(request), body['note'])
            : await requests.complete(tenantId, idOf(request), { by, note: body['note'], ...(link === undefined ? {} : { link }) });
      return json(reply, requestJson(done));
    });

    app.post('/privacy/requests/:id/reject', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      return json(reply, requestJson(await requests.reject(tenantId, idOf(request), { by, reason: bodyOf(request)['reason'] })));
    });

    app.post('/privacy/requests/:id/withdraw', async (request, reply) => {
      const { tenantId, by } = await callerOf(request);
      return json(reply, requestJson(await requests.withdraw(tenantId, by, idOf(request))));
    });
  };
}
