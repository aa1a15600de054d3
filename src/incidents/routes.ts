import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit, AuditAction, AuditEventInput } from '../audit/index.js';
import { forbidden, hasCapability, IdentityError, operatorRealm, type Authenticator, type Capability } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { actorOf } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import { callerEvent } from './caller-event.js';
import { invalid } from './errors.js';
import type { IncidentCaller, Incidents } from './incidents.js';
import { incidentDetailJson, incidentJson } from './json.js';
import { incidentStates, isIncidentState } from './states.js';
import type { IncidentFilter } from './store.js';
import { alertRefs, known, owner, parseAlertRef, severity, state, tenantIds, text, time, limits, type Body } from './validate.js';

export interface IncidentRoutesDeps {
  readonly incidents: Incidents;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
  readonly publicUrl: string | undefined;
}

/** An admitted caller, and how a refusal after the door is recorded. */
interface Admitted {
  readonly caller: IncidentCaller;
  failed(action: AuditAction, ref: string, error: AppError): Promise<AppError>;
  recordRead(resources: readonly string[]): Promise<void>;
}

const filterNames = ['state', 'open', 'severity', 'tenant', 'before', 'limit'] as const;

const encodePlace = (at: number, id: string) => Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
function decodePlace(token: string): { at: number; id: string } | undefined {
  if (!/^[A-Za-z0-9_-]{4,200}$/.test(token)) return undefined;
  const match = /^(\d{1,15})\|([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match === null ? undefined : { at: Number(match[1]), id: match[2] as string };
}

/** `state`, `open` (true: every state but closed), `severity`, `tenant` (operators), `before` (a next link's token), `limit` (1–500, default 50); anything else is a 400 naming it. */
export function parseIncidentFilter(query: Record<string, unknown>): Omit<IncidentFilter, 'limit'> & { limit: number } {
  const filter: { -readonly [K in keyof IncidentFilter]?: IncidentFilter[K] } = {};
  for (const [name, raw] of Object.entries(query)) {
    if (!(filterNames as readonly string[]).includes(name)) throw invalid(`${name}: not a filter of incidents (${filterNames.join(', ')})`);
    if (typeof raw !== 'string') throw invalid(`${name}: give it once`);
    const value = raw.trim();
    if (value === '') continue;
    if (name === 'state') {
      if (!isIncidentState(value)) throw invalid(`state: one of ${incidentStates.join(', ')}`);
      filter.state = value;
    } else if (name === 'open') {
      if (value !== 'true' && value !== 'false') throw invalid('open: true or false');
      filter.open = value === 'true';
    } else if (name === 'severity') {
      filter.severity = severity({ severity: value });
    } else if (name === 'tenant') {
      filter.tenant = parseTenantId(value);
    } else if (name === 'before') {
      const place = decodePlace(value);
      if (place === undefined) throw invalid('before: the token of a next link');
      filter.after = place;
    } else {
      const limit = /^\d{1,4}$/.test(value) ? Number(value) : 0;
      if (limit < 1 || limit > 500) throw invalid('limit: 1 to 500');
      filter.limit = limit;
    }
  }
  return { ...filter, limit: filter.limit ?? 50 };
}

const bodyOf = (request: FastifyRequest): Body => {
  const value = request.body as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('Send a JSON object.');
  return value as Body;
};

const idShape = /^[0-9a-f-]{36}$/;
const refOf = (id: string) => (idShape.test(id) ? `Incident/${id}` : '');
const json = (reply: FastifyReply, value: unknown, status = 200): FastifyReply => reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(value));

/**
 * The incidents API (JSON; errors RFC 9457 problem+json with the error `code`):
 *
 * - under `/platform`, for an operator session with the `operator` role (two factors, always);
 *   a `backup-operator` may read (list and detail) and nothing else.
 * - under `/tenants/{t}`, for people and API keys whose role has `incidents:read` (tenant-admin,
 *   auditor): the incidents that name the tenant, with what concerns it; with `incidents:manage`
 *   (tenant-admin) they open incidents of their tenant, change them, add notes and tasks, link
 *   their alerts. Customer updates are the operators' to post.
 *
 * Reads are `audit.read` events naming the incidents read (as alert reads are); changes are
 * `incident.*` events (incidents.ts); a refusal after the door is recorded too (OWASP ASVS 5
 * V16.3.2), a 403 as `access.denied`.
 */
export function incidentRoutes({ incidents, authenticator, audit, publicUrl }: IncidentRoutesDeps) {
  const base = (publicUrl ?? '').replace(/\/$/, '');

  function admittedOf(caller: IncidentCaller, home: string): Admitted {
    const event = (action: AuditAction, resources: readonly string[], outcome: 'success' | 'failure', status: number, detail: string): AuditEventInput => callerEvent(caller, action, resources, outcome, status, detail);
    return {
      caller,
      async failed(action, ref, error) {
        await audit.record(home, [event(error.status === 403 ? 'access.denied' : action, ref === '' ? [] : [ref], 'failure', error.status, error.code)]);
        return error;
      },
      async recordRead(resources) {
        await audit.record(home, [event('audit.read', resources, 'success', 200, 'incidents')]);
      },
    };
  }

  async function operatorCaller(request: FastifyRequest, need: Capability): Promise<Admitted> {
    let operator;
    try {
      operator = await authenticator.operator(request, 'operator');
    } catch (error) {
      // A backup operator reads incidents (they may be the ones restoring after one), and changes none.
      if (!(error instanceof IdentityError && error.code === 'forbidden') || need !== 'incidents:read') throw error;
      operator = await authenticator.operator(request, 'backup-operator');
    }
    const caller: IncidentCaller = { kind: 'operator', actor: { id: `operator:${operator.id}`, role: operator.role, client: 'session' }, accountId: operator.id, requestId: request.id, sourceIp: request.ip, status: 200 };
    return admittedOf(caller, operatorRealm);
  }

  async function tenantCaller(request: FastifyRequest, need: Capability): Promise<Admitted> {
    const realm = parseTenantId((request.params as { tenant: string }).tenant);
    const principal = await authenticator.principal(request, realm);
    const caller: IncidentCaller = {
      kind: 'tenant',
      tenant: realm,
      actor: actorOf(principal),
      ...(principal.kind === 'person' ? { accountId: principal.id } : {}),
      requestId: request.id,
      sourceIp: request.ip,
      status: 200,
    };
    const admitted = admittedOf(caller, realm);
    if (!hasCapability(principal.role, need)) throw await admitted.failed('access.denied', '', forbidden(`Your role (${principal.role}) does not allow this (${need}).`));
    return admitted;
  }

  async function attempt<T>(admitted: Admitted, action: AuditAction, ref: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError && error.status < 500) throw await admitted.failed(action, ref, error);
      throw error;
    }
  }

  function routes(app: FastifyInstance, admit: (request: FastifyRequest, need: Capability) => Promise<Admitted>): void {
    const id = (request: FastifyRequest) => (request.params as { id: string }).id;

    app.get('/incidents', async (request, reply) => {
      const admitted = await admit(request, 'incidents:read');
      const filter = await attempt(admitted, 'audit.read', '', async () => parseIncidentFilter((request.query ?? {}) as Record<string, unknown>));
      const list = await incidents.list(admitted.caller, { ...filter, limit: filter.limit + 1 });
      const page = list.slice(0, filter.limit);
      await admitted.recordRead(page.map((i) => `Incident/${i.id}`));
      const last = page.at(-1);
      let next: string | null = null;
      if (list.length > filter.limit && last !== undefined) {
        const url = new URL(request.url, 'https://tresor.invalid');
        url.searchParams.set('before', encodePlace(last.openedAt, last.id));
        next = `${base}${url.pathname}${url.search}`;
      }
      return json(reply, { incidents: page.map(incidentJson), next });
    });

    app.get('/incidents/:id', async (request, reply) => {
      const admitted = await admit(request, 'incidents:read');
      const detail = await attempt(admitted, 'audit.read', refOf(id(request)), () => incidents.get(admitted.caller, id(request)));
      await admitted.recordRead([`Incident/${detail.incident.id}`]);
      return json(reply, incidentDetailJson(detail));
    });

    app.post('/incidents', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.opened', '', async () => {
        const body = bodyOf(request);
        known(body, ['title', 'severity', 'tenants', 'alerts', 'awareAt', 'owner', 'note'], 'an incident');
        const input = {
          title: text(body, 'title', { required: true, max: limits.title }) as string,
          severity: severity(body) ?? 'medium',
          ...optional('tenants', tenantIds(body)),
          ...optional('alerts', alertRefs(body)),
          ...optional('awareAt', time(body, 'awareAt')),
          ...optional('owner', owner(body)),
          ...optional('note', text(body, 'note')),
        };
        return incidents.open(admitted.caller, input);
      });
      return json(reply.header('location', `${base}${request.url.split('?')[0] ?? ''}/${detail.incident.id}`), incidentDetailJson(detail), 201);
    });

    app.patch('/incidents/:id', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.changed', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['title', 'severity', 'owner', 'awareAt', 'reason', 'tenants'], 'a change of an incident');
        return incidents.change(admitted.caller, id(request), {
          ...optional('title', text(body, 'title', { max: limits.title })),
          ...optional('severity', severity(body)),
          ...optional('owner', owner(body)),
          ...optional('awareAt', time(body, 'awareAt')),
          ...optional('reason', text(body, 'reason')),
          ...optional('tenants', tenantIds(body)),
        });
      });
      return json(reply, incidentDetailJson(detail));
    });

    app.post('/incidents/:id/state', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.state_changed', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['to', 'reason'], 'a change of state');
        return incidents.transition(admitted.caller, id(request), state(body), text(body, 'reason') ?? '');
      });
      return json(reply, incidentDetailJson(detail));
    });

    app.post('/incidents/:id/notes', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.noted', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['text'], 'a note');
        return incidents.note(admitted.caller, id(request), text(body, 'text', { required: true }) as string);
      });
      return json(reply, incidentDetailJson(detail), 201);
    });

    app.post('/incidents/:id/alerts', { bodyLimit: 4 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.alert_linked', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['alert'], 'a link to an alert');
        return incidents.linkAlert(admitted.caller, id(request), parseAlertRef(body['alert'], 'alert'));
      });
      return json(reply, incidentDetailJson(detail), 201);
    });

    app.post('/incidents/:id/tasks', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.task_added', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['title', 'assignee', 'due'], 'a task');
        return incidents.addTask(admitted.caller, id(request), {
          title: text(body, 'title', { required: true, max: limits.title }) as string,
          ...optional('assignee', text(body, 'assignee', { max: limits.title })),
          ...optional('dueAt', time(body, 'due')),
        });
      });
      return json(reply, incidentDetailJson(detail), 201);
    });

    app.patch('/incidents/:id/tasks/:taskId', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const { taskId } = request.params as { taskId: string };
      const detail = await attempt(admitted, 'incident.task_changed', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['title', 'assignee', 'due', 'done'], 'a change of a task');
        const done = body['done'];
        if (done !== undefined && typeof done !== 'boolean') throw invalid('done: true or false');
        return incidents.changeTask(admitted.caller, id(request), taskId, {
          ...optional('title', text(body, 'title', { max: limits.title })),
          ...optional('assignee', text(body, 'assignee', { max: limits.title })),
          ...optional('dueAt', time(body, 'due')),
          ...optional('done', done as boolean | undefined),
        });
      });
      return json(reply, incidentDetailJson(detail));
    });

    app.post('/incidents/:id/updates', { bodyLimit: 32 * 1024 }, async (request, reply) => {
      const admitted = await admit(request, 'incidents:manage');
      const detail = await attempt(admitted, 'incident.update_posted', refOf(id(request)), async () => {
        const body = bodyOf(request);
        known(body, ['text', 'public', 'publicText'], 'a customer update');
        const isPublic = body['public'];
        if (isPublic !== undefined && typeof isPublic !== 'boolean') throw invalid('public: true or false');
        const publicText = text(body, 'publicText');
        if (isPublic === true && (publicText === undefined || publicText === '')) throw invalid('publicText: a public update needs its own text, written for anyone to read');
        return incidents.postUpdate(admitted.caller, id(request), { text: text(body, 'text', { required: true }) as string, ...(isPublic === true ? { publicText: publicText as string } : {}) });
      });
      return json(reply, incidentDetailJson(detail), 201);
    });
  }

  return {
    /** Under `/tenants/:tenant`. */
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      routes(app, tenantCaller);
    },
    /** Under `/platform`. */
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      routes(app, operatorCaller);
    },
  };
}

// Spread-friendly: a field only when given, as exactOptionalPropertyTypes wants.
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
