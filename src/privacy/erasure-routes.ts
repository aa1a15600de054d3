import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import { forbidden, hasCapability, type Authenticator } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import { actorOf } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import { ErasureError } from './erasure-errors.js';
import { privacyEvent, type PrivacyCaller } from './erasure-event.js';
import type { Erasures } from './erasure.js';
import type { Holds } from './holds.js';
import type { RetentionSettings } from './retention-settings.js';
import type { Retention } from './retention.js';

export interface ErasureRoutesDeps {
  readonly erasures: Erasures;
  readonly holds: Holds;
  readonly retention: Retention;
  readonly settings: RetentionSettings;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

function body(request: FastifyRequest): Record<string, unknown> {
  const value = request.body as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
  return value as Record<string, unknown>;
}

const optionalString = (fields: Record<string, unknown>, name: string): string | undefined => {
  const value = fields[name];
  if (value !== undefined && typeof value !== 'string') throw new HttpError('body-invalid', `"${name}" is a string.`, { status: 400 });
  return value;
};

/**
 * Erasure, legal holds and retention under `/tenants/{t}/privacy` (JSON, errors as RFC 9457
 * problem+json), for a caller whose role has `privacy:erase` (the tenant admin); anyone else gets
 * 403, recorded as `access.denied` (OWASP ASVS 5 V8.2.1). Cookie sessions send their CSRF token.
 *
 * - `GET /privacy/erasure/{patientId}/check`: what stands in the way (holds, the duty and its end).
 * - `POST /privacy/erasure/{patientId}` `{reason, requestId?}`: erases, or 409 `erasure-held` /
 *   `erasure-retention`. `GET /privacy/erasures`: the erasure records.
 * - `GET|POST /privacy/holds` `{subject, reason, endsAt?}`, `POST /privacy/holds/{id}/release` `{reason}`.
 * - `GET|PUT /privacy/retention` `{medicalRecords?, personal?, health?, payment?}` (years, null, "default"),
 *   `GET /privacy/retention/preview?days=90`, `POST /privacy/retention/run`, `GET /privacy/retention/reports`.
 */
export function erasureRoutes({ erasures, holds, retention, settings, authenticator, audit }: ErasureRoutesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    async function admit(request: FastifyRequest): Promise<PrivacyCaller & { tenantId: string }> {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      const principal = await authenticator.principal(request, tenantId);
      const caller = { tenantId, actor: actorOf(principal), requestId: request.id, sourceIp: request.ip };
      if (!hasCapability(principal.role, 'privacy:erase')) {
        await audit.record(tenantId, [privacyEvent(caller, 'access.denied', { outcome: 'failure', status: 403, detail: 'privacy:erase' })]);
        throw forbidden(`Your role (${principal.role}) does not allow this (privacy:erase).`);
      }
      return caller;
    }
    const subjectOf = (request: FastifyRequest) => `Patient/${(request.params as { patientId: string }).patientId}`;

    app.get('/privacy/erasure/:patientId/check', async (request, reply) => {
      const caller = await admit(request);
      return reply.send(await erasures.check(caller.tenantId, subjectOf(request)));
    });

    app.post('/privacy/erasure/:patientId', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request);
      const fields = body(request);
      const requestId = optionalString(fields, 'requestId');
      const record = await erasures.erase(caller.tenantId, subjectOf(request), { by: caller, reason: optionalString(fields, 'reason') ?? '', ...(requestId === undefined ? {} : { requestId }), source: 'api' });
      return reply.send({ erasure: record });
    });

    app.get('/privacy/erasures', async (request, reply) => {
      const caller = await admit(request);
      return reply.send({ erasures: await erasures.list(caller.tenantId) });
    });

    app.get('/privacy/holds', async (request, reply) => {
      const caller = await admit(request);
      const { subject, active } = request.query as { subject?: string; active?: string };
      return reply.send({ holds: await holds.list(caller.tenantId, { ...(subject === undefined ? {} : { subject }), active: active === 'true' }) });
    });

    app.post('/privacy/holds', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request);
      const fields = body(request);
      const endsAt = optionalString(fields, 'endsAt');
      const hold = await holds.set(caller.tenantId, { subject: optionalString(fields, 'subject') ?? '', reason: optionalString(fields, 'reason') ?? '', ...(endsAt === undefined ? {} : { endsAt }) }, caller);
      return reply.status(201).send({ hold });
    });

    app.post('/privacy/holds/:id/release', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request);
      const hold = await holds.release(caller.tenantId, (request.params as { id: string }).id, optionalString(body(request), 'reason') ?? '', caller);
      return reply.send({ hold });
    });

    app.get('/privacy/retention', async (request, reply) => {
      const caller = await admit(request);
      return reply.send(await settings.of(caller.tenantId));
    });

    app.put('/privacy/retention', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const caller = await admit(request);
      const fields = body(request) as Record<string, number | null | 'default'>;
      return reply.send(await settings.set(caller.tenantId, fields, caller.actor));
    });

    app.get('/privacy/retention/preview', async (request, reply) => {
      const caller = await admit(request);
      const days = Number((request.query as { days?: string }).days ?? 90);
      if (!Number.isInteger(days) || days < 0 || days > 3660) throw new ErasureError('retention-invalid', '"days" is 0–3660.', { status: 400 });
      return reply.send({ expiring: await retention.preview(caller.tenantId, { withinDays: days }) });
    });

    app.post('/privacy/retention/run', async (request, reply) => {
      const caller = await admit(request);
      return reply.send({ report: await retention.run(caller.tenantId, caller) });
    });

    app.get('/privacy/retention/reports', async (request, reply) => {
      const caller = await admit(request);
      return reply.send({ reports: await retention.reports(caller.tenantId) });
    });
  };
}
