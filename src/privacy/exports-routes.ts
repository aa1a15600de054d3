import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, type RecordAccess } from '../records/index.js';
import type { Authenticator, Principal } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { HttpError, sendProblem } from '../platform/http/index.js';
import { parseTenantId } from '../tenants/index.js';
import { ExportError, type ExportCaller, type ExportView, type SubjectExports } from './exports.js';

export interface ExportRoutesDeps {
  readonly exports: SubjectExports;
  readonly authenticator: Authenticator;
  readonly access: RecordAccess;
  readonly publicUrl: string | undefined;
}

export const callerOf = (request: FastifyRequest, principal: Principal): ExportCaller => ({ role: principal.role, actor: actorOf(principal), requestId: request.id, sourceIp: request.ip });

/**
 * The personal download over JSON (errors as RFC 9457 problem+json), under `/tenants/{t}`:
 * - `POST /privacy/exports` `{patient?, request?}`: a patient for themself (no body needed), staff
 *   with `privacy:manage` for `patient` (`Patient/<id>`), optionally naming the data subject
 *   request it answers; 202 with the download's state.
 * - `GET /privacy/exports/{id}`: state and progress; for the patient themself, once ready, a link
 *   per file with a fresh token (the previous links stop working).
 * - `GET /privacy/exports/{id}/{file}?token=…`: the file, for the patient's own session and the
 *   link's token; audited as `privacy.export_downloaded`.
 * Refusals are audited as `access.denied` (access.ts `failed`).
 */
export function exportRoutes({ exports, authenticator, access, publicUrl }: ExportRoutesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const base = (request: FastifyRequest, tenantId: string) => `${publicUrl ?? `${request.protocol}://${request.host}`}/tenants/${tenantId}/privacy/exports`;

    /** The caller, and the refusal audited when it is one of this tenant's. */
    async function guarded<T>(request: FastifyRequest, reply: FastifyReply, work: (tenantId: string, principal: Principal) => Promise<T>): Promise<T | FastifyReply> {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      let principal: Principal | undefined;
      try {
        principal = await authenticator.principal(request, tenantId, { appTokens: false });
        return await work(tenantId, principal);
      } catch (error) {
        if (!(error instanceof AppError) || principal === undefined || error.status !== 403) throw error;
        const ctx = { tenantId, principal, purpose: principal.role === 'patient' ? ('PATRQT' as const) : ('HOPERAT' as const), requestId: request.id, sourceIp: request.ip };
        return sendProblem(reply, await access.failed(ctx, 'record.exported', '', error));
      }
    }

    const withLinks = async (request: FastifyRequest, tenantId: string, principal: Principal, view: ExportView) => {
      if (view.state !== 'ready' || principal.role !== 'patient' || principal.patient !== view.patient) return { export: view };
      const { token, expiresAt } = await exports.links(tenantId, view.id);
      return { export: view, links: view.files.map((f) => ({ name: f.name, mediaType: f.mediaType, url: `${base(request, tenantId)}/${view.id}/${f.name}?token=${token}`, expiresAt })) };
    };

    app.post('/privacy/exports', { bodyLimit: 4 * 1024 }, async (request, reply) =>
      guarded(request, reply, async (tenantId, principal) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
        const named = body['patient'];
        if (named !== undefined && typeof named !== 'string') throw new HttpError('body-invalid', '"patient" is Patient/<id>.', { status: 400 });
        const patient = named ?? principal.patient;
        if (patient === undefined) throw new HttpError('body-invalid', 'Name the patient: {"patient": "Patient/<id>"}.', { status: 400 });
        const requestRef = typeof body['request'] === 'string' && /^[A-Za-z0-9\-.:/]{1,100}$/.test(body['request']) ? body['request'] : undefined;
        exports.admit(principal, patient, 'start');
        const view = await exports.start(tenantId, patient, { by: callerOf(request, principal), ...(requestRef === undefined ? {} : { requestRef }) });
        return reply.status(202).header('location', `${base(request, tenantId)}/${view.id}`).send({ export: view });
      }),
    );

    app.get('/privacy/exports/:id', async (request, reply) =>
      guarded(request, reply, async (tenantId, principal) => {
        const view = await exports.status(tenantId, (request.params as { id: string }).id);
        exports.admit(principal, view.patient, 'status');
        return reply.header('cache-control', 'no-store').send(await withLinks(request, tenantId, principal, view));
      }),
    );

    app.get('/privacy/exports/:id/:file', async (request, reply) =>
      guarded(request, reply, async (tenantId, principal) => {
        const { id, file } = request.params as { id: string; file: string };
        const token = (request.query as Record<string, unknown>)['token'];
        const view = await exports.status(tenantId, id);
        exports.admit(principal, view.patient, 'download');
        if (typeof token !== 'string' || token === '') throw new ExportError('export-token-invalid', 'The link carries a token; open it from your download page.', { status: 403, expose: true });
        const found = await exports.download(tenantId, id, file, token, callerOf(request, principal));
        return reply
          .header('content-type', found.mediaType)
          .header('content-disposition', `attachment; filename="${found.name}"`)
          .header('cache-control', 'no-store')
          // The HTML summary is the patient's own data: never run as a page of this origin.
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
          .send(found.body);
      }),
    );
  };
}
