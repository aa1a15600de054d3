import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import type { Authenticator } from '../identity/index.js';
import { routeCallers, type IncidentCaller } from '../incidents/index.js';
import type { NoticeKind } from './drafts-compose.js';
import type { DraftRow } from './drafts-store.js';
import { noticeFormats, type NoticeDrafts, type NoticeFormat, type RenderInput } from './drafts.js';
import { noticeInvalid } from './errors.js';
import { noticePageCsp } from './render.js';
import { noticeLanguages, type NoticeLanguage } from './people.js';

export interface NoticeDraftRoutesDeps {
  readonly drafts: NoticeDrafts;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

type Params = { id: string; draftId?: string };

const send = (reply: FastifyReply, value: unknown, status = 200) => reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(value));

/** A draft as the API shows it: its state with who and when, its free text; no people. */
export const draftJson = (d: DraftRow) => ({
  id: d.id,
  kind: d.kind,
  tenant: d.tenantId,
  scopeId: d.scopeId,
  scopeHash: d.scopeHash,
  state: d.state,
  version: d.version,
  createdAt: new Date(d.createdAt).toISOString(),
  createdBy: d.createdBy,
  editedAt: new Date(d.editedAt).toISOString(),
  editedBy: d.editedBy,
  approvedAt: d.approvedAt === null ? null : new Date(d.approvedAt).toISOString(),
  approvedBy: d.approvedBy,
  sentAt: d.sentAt === null ? null : new Date(d.sentAt).toISOString(),
  sentBy: d.sentBy,
  freeText: d.freeText,
});

/** `format`, `recipient`, `batch`, `language` of a download; anything else is a 400 naming it. */
export function parseRenderQuery(query: Record<string, unknown>): RenderInput | { readonly format: 'json' } {
  const known = ['format', 'recipient', 'batch', 'language'];
  for (const name of Object.keys(query)) if (!known.includes(name) || typeof query[name] !== 'string') throw noticeInvalid(`${name}: not a parameter of a draft (${known.join(', ')}), given once`);
  const format = (query['format'] as string | undefined) ?? 'json';
  if (format === 'json') return { format: 'json' };
  if (!(noticeFormats as readonly string[]).includes(format)) throw noticeInvalid(`format: json, ${noticeFormats.join(', ')}`);
  const language = query['language'] as string | undefined;
  if (language !== undefined && !(noticeLanguages as readonly string[]).includes(language)) throw noticeInvalid(`language: ${noticeLanguages.join(' or ')}`);
  const batch = query['batch'] as string | undefined;
  if (batch !== undefined && batch !== 'post') throw noticeInvalid('batch: post');
  const recipient = query['recipient'] as string | undefined;
  return { format: format as NoticeFormat, ...(recipient === undefined ? {} : { recipient }), ...(batch === undefined ? {} : { batch: 'post' as const }), ...(language === undefined ? {} : { language: language as NoticeLanguage }) };
}

/**
 * Drafts of breach notices (RFC 9457 problem+json errors with the `code`):
 *
 * - `/platform/incidents/{id}/drafts`: an operator (role `operator`, two factors) generates
 *   drafts from a frozen scope (POST `{ scopeId, kinds? }`), lists them, reads one as JSON or
 *   downloads it (`?format=text|html|pdf`, `&recipient=Patient/<id>` for one letter,
 *   `&batch=post` for the print batch, `&language=de|en` for reports), edits its free text
 *   (PATCH), approves it, sends it, and reads its delivery log.
 * - `/tenants/{t}/incidents/{id}/drafts`: a tenant admin (`incidents:manage`) reads and
 *   downloads their tenant's customer notice, authority report and media notice — the clinic
 *   files the report as the controller. Letters name patients: operators only.
 *
 * Every download is audited (notification/drafts.ts); every answer `Cache-Control: no-store`.
 */
export function noticeDraftRoutes({ drafts, authenticator, audit }: NoticeDraftRoutesDeps) {
  const callers = routeCallers({ authenticator, audit });
  const attempt = callers.attempt;
  const operatorCaller = (request: FastifyRequest) => callers.operator(request);
  const tenantCaller = (request: FastifyRequest) => callers.tenant(request, 'incidents:manage');

  const ids = (request: FastifyRequest) => request.params as Required<Params>;

  function reads(app: FastifyInstance, admit: (request: FastifyRequest) => Promise<IncidentCaller>): void {
    app.get('/incidents/:id/drafts', async (request, reply) => {
      const caller = await admit(request);
      const list = await attempt(caller, 'audit.read', request, () => drafts.list(caller, ids(request).id));
      await callers.recordRead(caller, callers.incidentRef(request), `notice drafts (${list.length})`);
      return send(reply, { drafts: list.map(draftJson) });
    });
    app.get('/incidents/:id/drafts/:draftId', async (request, reply) => {
      const caller = await admit(request);
      const { id, draftId } = ids(request);
      const query = await attempt(caller, 'notice.downloaded', request, async () => parseRenderQuery((request.query ?? {}) as Record<string, unknown>));
      if (query.format === 'json') {
        const draft = await attempt(caller, 'audit.read', request, () => drafts.get(caller, id, draftId));
        return send(reply, draftJson(draft));
      }
      const rendered = await attempt(caller, 'notice.downloaded', request, () => drafts.render(caller, id, draftId, query));
      const disposition = query.format === 'html' ? 'inline' : 'attachment';
      if (query.format === 'html') reply.header('content-security-policy', noticePageCsp);
      return reply.header('cache-control', 'no-store').header('content-disposition', `${disposition}; filename="${rendered.filename}"`).type(rendered.contentType).send(typeof rendered.body === 'string' ? rendered.body : Buffer.from(rendered.body));
    });
  }

  return {
    /** Under `/platform`. */
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      reads(app, operatorCaller);
      app.post('/incidents/:id/drafts', { bodyLimit: 16 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const created = await attempt(caller, 'notice.drafted', request, async () => {
          const body = request.body as { scopeId?: unknown; kinds?: unknown } | null;
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw noticeInvalid('Send { "scopeId", "kinds"? }.');
          const kinds = body.kinds;
          if (kinds !== undefined && (!Array.isArray(kinds) || kinds.some((k) => typeof k !== 'string'))) throw noticeInvalid('kinds: a list of individual, customer, authority, media');
          return drafts.generate(caller, ids(request).id, { scopeId: body.scopeId as string, ...(kinds === undefined ? {} : { kinds: kinds as NoticeKind[] }) });
        });
        return send(reply, { drafts: created.map(draftJson) }, 201);
      });
      app.patch('/incidents/:id/drafts/:draftId', { bodyLimit: 64 * 1024 }, async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, draftId } = ids(request);
        const draft = await attempt(caller, 'notice.edited', request, () => drafts.edit(caller, id, draftId, (request.body ?? {}) as never));
        return send(reply, draftJson(draft));
      });
      app.post('/incidents/:id/drafts/:draftId/approve', async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, draftId } = ids(request);
        const draft = await attempt(caller, 'notice.approved', request, () => drafts.approve(caller, id, draftId));
        return send(reply, draftJson(draft));
      });
      app.post('/incidents/:id/drafts/:draftId/send', async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, draftId } = ids(request);
        const result = await attempt(caller, 'notice.sent', request, () => drafts.send(caller, id, draftId));
        return send(reply, { draft: draftJson(result.draft), tally: result.tally });
      });
      app.get('/incidents/:id/drafts/:draftId/deliveries', async (request, reply) => {
        const caller = await operatorCaller(request);
        const { id, draftId } = ids(request);
        const rows = await attempt(caller, 'audit.read', request, () => drafts.deliveries(caller, id, draftId));
        await callers.recordRead(caller, callers.incidentRef(request), `notice ${draftId} deliveries (${rows.length})`);
        return send(reply, { deliveries: rows.map((r) => ({ recipient: r.recipient, channel: r.channel, status: r.status, code: r.code, messageId: r.messageId, at: new Date(r.at).toISOString(), attempts: r.attempts })) });
      });
    },
    /** Under `/tenants/:tenant`. */
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      reads(app, tenantCaller);
    },
  };
}
