import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operatorEvent, type Actor, type Audit, type AuditEventInput } from '../audit/index.js';
import { hasCapability, operatorRealm, type Authenticator, type Principal } from '../identity/index.js';
import { accessEvent, defaultPurpose, type AccessContext } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import type { RopaDocument } from './ropa-document.js';
import { RopaError } from './ropa-errors.js';
import { ropaMarkdown } from './ropa-markdown.js';
import { ropaPdf } from './ropa-pdf.js';
import type { RopaLocale } from './ropa-sections.js';
import type { Ropa } from './ropa.js';

export const ropaFormats = ['json', 'md', 'pdf'] as const;
export type RopaFormat = (typeof ropaFormats)[number];

export interface RopaRoutesDeps {
  readonly ropa: Ropa;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

/** Who may read a tenant's records of processing: `privacy:records` (tenant admins) or `audit:read` (auditors). */
export const mayReadRopa = (principal: Pick<Principal, 'role'>): boolean => hasCapability(principal.role, 'privacy:records') || hasCapability(principal.role, 'audit:read');

export function parseRopaFormat(value: unknown): RopaFormat {
  if (value === undefined || value === '') return 'json';
  if (typeof value === 'string' && (ropaFormats as readonly string[]).includes(value)) return value as RopaFormat;
  throw new RopaError('ropa-format-invalid', `format: one of ${ropaFormats.join(', ')}`, { status: 400, expose: true });
}

export const parseRopaLocale = (value: unknown): RopaLocale => (value === 'de' ? 'de' : 'en');

/** The answer in one format: JSON as data, Markdown as text, PDF as a download named after the scope and the date. */
export async function sendRopa(reply: FastifyReply, doc: RopaDocument, format: RopaFormat, locale: RopaLocale): Promise<FastifyReply> {
  reply.header('cache-control', 'no-store');
  const name = `records-of-processing-${doc.scope === 'tenant' ? (doc.controllers[0]?.id ?? 'tenant') : 'platform'}-${doc.generatedAt.slice(0, 10)}`;
  if (format === 'json') return reply.type('application/json').send(JSON.stringify(doc, null, 2));
  if (format === 'md') return reply.type('text/markdown; charset=utf-8').header('content-disposition', `attachment; filename="${name}.md"`).send(ropaMarkdown(doc, locale));
  return reply.type('application/pdf').header('content-disposition', `attachment; filename="${name}.pdf"`).send(Buffer.from(await ropaPdf(doc, locale)));
}

/** The event of a generated record: who, in which format; the document itself names no person. */
export function ropaEvent(ctx: AccessContext, format: RopaFormat | 'html'): AuditEventInput {
  return { ...accessEvent(ctx, 'ropa.generated', [], 200), detail: `format=${format}` };
}

/**
 * The records of processing over HTTP (GDPR Art. 30(4): made available to the supervisory
 * authority on request):
 *
 * - `GET /tenants/{t}/privacy/ropa?format=json|md|pdf&lang=en|de` — the tenant as controller, for
 *   roles with `privacy:records` or `audit:read`; a refusal is `access.denied` in the tenant's trail.
 * - `GET /platform/privacy/ropa?…` — the deployment as processor, for operators (role `operator`).
 *
 * Every answer is generated now and recorded as `ropa.generated` before it leaves.
 */
export function ropaRoutes({ ropa, authenticator, audit }: RopaRoutesDeps) {
  return {
    tenant: async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/privacy/ropa', async (request: FastifyRequest, reply) => {
        const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
        const principal = await authenticator.principal(request, tenantId);
        const ctx: AccessContext = { tenantId, principal, purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip };
        if (!mayReadRopa(principal)) {
          const error = new RopaError('ropa-forbidden', `Your role (${principal.role}) cannot read the records of processing.`, { status: 403, expose: true });
          await audit.record(tenantId, [accessEvent(ctx, 'access.denied', [], 403, error)]);
          throw error;
        }
        const query = request.query as Record<string, unknown>;
        const format = parseRopaFormat(query['format']);
        const doc = await ropa.tenant(tenantId);
        await audit.record(tenantId, [ropaEvent(ctx, format)]);
        return sendRopa(reply, doc, format, parseRopaLocale(query['lang']));
      });
    },
    platform: async function plugin(app: FastifyInstance): Promise<void> {
      app.get('/privacy/ropa', async (request, reply) => {
        const operator = await authenticator.operator(request, 'operator');
        const query = request.query as Record<string, unknown>;
        const format = parseRopaFormat(query['format']);
        const doc = await ropa.platform();
        const actor: Actor = { id: `operator:${operator.id}`, role: operator.role, client: 'session' };
        await audit.record(operatorRealm, [{ ...operatorEvent('ropa.generated', actor, { detail: `format=${format}` }), requestId: request.id, sourceIp: request.ip }]);
        return sendRopa(reply, doc, format, parseRopaLocale(query['lang']));
      });
    },
  };
}
