import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../identity/index.js';
import { localeOf, pageCsp } from '../platform/pages/index.js';
import { StatusError } from './errors.js';
import { atomFeed, rssFeed } from './feeds.js';
import { statusPage, statusStylesheet } from './page.js';
import { securityTxt, type SecurityTxtSettings } from './security-txt.js';
import type { EntryInput, StatusActor, StatusService } from './status.js';
import { statusDocuments } from './summary.js';
import type { ComponentId, ComponentState } from './types.js';

export interface StatusRoutesDeps {
  readonly status: StatusService;
  readonly authenticator: Authenticator;
  readonly now: () => number;
  /** The deployment's public address (`server.publicUrl`), without a trailing slash. */
  readonly baseUrl: string;
  readonly publicUrlConfigured: boolean;
  readonly security: SecurityTxtSettings;
}

// Short: a status page must show a change within a minute, and caches spare the server a crowd of reloads in an outage.
const publicCache = 'public, max-age=30';
const documents = ['summary', 'status', 'components', 'incidents', 'scheduled-maintenances'] as const;

/**
 * The public status page (`/status`, no sign-in), its JSON and feeds, and `security.txt`: all
 * rendered from the in-memory snapshot, so they answer while the database does not. The
 * operators' changes under `/platform/status/…` (role `operator`, every change audited).
 */
export function statusRoutes(deps: StatusRoutesDeps) {
  const { status } = deps;
  const pageUrl = `${deps.baseUrl}/status`;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/status', async (request, reply) => {
      const page = statusPage({ locale: localeOf(request), snapshot: status.snapshot(), now: deps.now(), path: request.url, securityTxt: deps.security.contact.length > 0 });
      return reply.header('content-security-policy', pageCsp).header('cache-control', publicCache).header('vary', 'accept-language, cookie').type('text/html; charset=utf-8').send(page.text);
    });
    app.get('/status/status.css', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(statusStylesheet));
    for (const name of documents) {
      app.get(`/status/api/v2/${name}.json`, async (_request, reply) => {
        const docs = statusDocuments({ name: 'Tresor', url: pageUrl }, status.snapshot());
        // Status widgets on other origins read this document: it is public by design.
        return reply.header('cache-control', publicCache).header('access-control-allow-origin', '*').type('application/json; charset=utf-8').send(JSON.stringify(docs[name]));
      });
    }
    const feedInput = () => {
      const s = status.snapshot();
      const entries = [...s.entries].sort((a, b) => b.updatedAt - a.updatedAt);
      return { title: 'Tresor status', pageUrl, entries, updatedAt: Math.max(s.storedAt, ...entries.map((e) => e.updatedAt)) };
    };
    app.get('/status/feed.atom', async (_request, reply) => reply.header('cache-control', publicCache).type('application/atom+xml; charset=utf-8').send(atomFeed(feedInput())));
    app.get('/status/feed.rss', async (_request, reply) => reply.header('cache-control', publicCache).type('application/rss+xml; charset=utf-8').send(rssFeed(feedInput())));

    // RFC 9116 §3: served over HTTPS at /.well-known/security.txt, text/plain with a charset.
    app.get('/.well-known/security.txt', async (_request, reply) => {
      const body = securityTxt(deps.security, deps.publicUrlConfigured ? `${deps.baseUrl}/.well-known/security.txt` : undefined, deps.now());
      if (body === undefined) throw new StatusError('status-not-found', 'No security contact is configured.', { status: 404 });
      return reply.header('cache-control', 'public, max-age=3600').type('text/plain; charset=utf-8').send(body);
    });

    // The operators' side: the same service as the console's pages.
    const caller = async (request: FastifyRequest): Promise<StatusActor> => {
      const operator = await deps.authenticator.operator(request, 'operator');
      return { actor: { id: `operator:${operator.id}`, role: operator.role, client: 'session' }, requestId: request.id, sourceIp: request.ip };
    };
    const body = (request: FastifyRequest): Record<string, unknown> => {
      const value = request.body;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new StatusError('status-invalid', 'Send a JSON object.', { status: 400 });
      return value as Record<string, unknown>;
    };
    const viewEntry = (e: Awaited<ReturnType<StatusService['createEntry']>>) => ({
      id: e.id, kind: e.kind, title: e.title, text: e.text, components: e.components, status: e.status,
      startsAt: new Date(e.startsAt).toISOString(), endsAt: e.endsAt === undefined ? null : new Date(e.endsAt).toISOString(),
      createdAt: new Date(e.createdAt).toISOString(), updatedAt: new Date(e.updatedAt).toISOString(),
      updates: e.updates.map((u) => ({ at: new Date(u.at).toISOString(), status: u.status, text: u.text })),
    });

    app.get('/platform/status/entries', async (request, reply) => {
      await caller(request);
      return reply.send({ entries: (await status.listEntries()).map(viewEntry) });
    });
    for (const [kind, path] of [['maintenance', 'maintenances'], ['notice', 'notices']] as const) {
      app.post(`/platform/status/${path}`, { bodyLimit: 32 * 1024 }, async (request, reply) => {
        const by = await caller(request);
        const created = await status.createEntry(by, kind, entryInput(body(request)));
        return reply.status(201).send(viewEntry(created));
      });
      app.patch(`/platform/status/${path}/:id`, { bodyLimit: 32 * 1024 }, async (request, reply) => {
        const by = await caller(request);
        const changed = await status.updateEntry(by, kind, (request.params as { id: string }).id, entryInput(body(request)));
        return reply.send(viewEntry(changed));
      });
    }
    app.put('/platform/status/components/:id/override', { bodyLimit: 8 * 1024 }, async (request, reply) => {
      const by = await caller(request);
      const fields = body(request);
      const until = typeof fields['until'] === 'string' ? Date.parse(fields['until']) : NaN;
      if (typeof fields['state'] !== 'string' || typeof fields['note'] !== 'string' || !Number.isFinite(until)) throw new StatusError('status-invalid', 'Send {"state", "note", "until": "<ISO 8601 time>"}.', { status: 400 });
      await status.setOverride(by, (request.params as { id: string }).id as ComponentId, fields['state'] as ComponentState, fields['note'], until);
      return noContent(reply);
    });
    app.delete('/platform/status/components/:id/override', async (request, reply) => {
      const by = await caller(request);
      await status.clearOverride(by, (request.params as { id: string }).id as ComponentId);
      return noContent(reply);
    });
  };
}

const noContent = (reply: FastifyReply) => reply.status(204).send();

/** A JSON body as an entry's fields: times as ISO 8601, each field checked for its type. */
export function entryInput(fields: Record<string, unknown>): EntryInput {
  const string = (name: string): string | undefined => {
    const v = fields[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new StatusError('status-invalid', `${name}: a string`, { status: 400 });
    return v;
  };
  const time = (name: string): number | undefined => {
    const v = string(name);
    if (v === undefined) return undefined;
    const at = Date.parse(v);
    if (!Number.isFinite(at)) throw new StatusError('status-invalid', `${name}: an ISO 8601 time`, { status: 400 });
    return at;
  };
  const components = fields['components'];
  if (components !== undefined && (!Array.isArray(components) || components.some((c) => typeof c !== 'string'))) throw new StatusError('status-invalid', 'components: a list of component ids', { status: 400 });
  const out: { -readonly [K in keyof EntryInput]: EntryInput[K] } = {};
  for (const name of ['title', 'text', 'status', 'update'] as const) {
    const v = string(name);
    if (v !== undefined) out[name] = v;
  }
  const startsAt = time('startsAt');
  const endsAt = time('endsAt');
  if (startsAt !== undefined) out.startsAt = startsAt;
  if (endsAt !== undefined) out.endsAt = endsAt;
  if (components !== undefined) out.components = components as ComponentId[];
  return out;
}
