import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit, AuditAction } from '../audit/index.js';
import { forbidden, hasCapability, type Authenticator, type Principal } from '../identity/index.js';
import type { AppError } from '../platform/errors.js';
import { accessEvent, actorOf, defaultPurpose, type EventContext } from '../records/index.js';
import { parseTenantId } from '../tenants/index.js';
import { PrivacyError } from './restriction-errors.js';
import type { Restriction, Restrictions } from './restrictions.js';

export interface RestrictionRoutesDeps {
  readonly restrictions: Restrictions;
  readonly authenticator: Authenticator;
  readonly audit: Audit;
}

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

const restrictionJson = (r: Restriction) => ({
  patient: r.patient,
  ground: r.ground,
  allowedRoles: r.allowedRoles,
  by: r.by,
  ...(r.requestId === undefined ? {} : { requestId: r.requestId }),
  at: new Date(r.at).toISOString(),
});

/**
 * Restriction of processing (GDPR Art. 18) for people and API keys whose role has
 * `privacy:restrict` (JSON; errors RFC 9457 problem+json):
 * `POST /privacy/restrictions/{patientId}` `{ ground, allowedRoles?, requestId? }` restricts,
 * `DELETE …` lifts (Art. 18(3): the patient is told before — the request's owner does that),
 * `GET …` shows it. A refusal is `access.denied` in the tenant's trail.
 */
export function restrictionRoutes({ restrictions, authenticator, audit }: RestrictionRoutesDeps) {
  async function admit(request: FastifyRequest, action: AuditAction): Promise<{ tenantId: string; patient: string; principal: Principal; ctx: EventContext }> {
    const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
    const principal = await authenticator.principal(request, tenantId);
    const ctx: EventContext = { principal, purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip };
    const { patientId } = request.params as { patientId: string };
    const patient = `Patient/${patientId}`;
    const refuse = async (error: AppError): Promise<never> => {
      await audit.record(tenantId, [accessEvent(ctx, error.status === 403 ? 'access.denied' : action, [{ ref: patient, subject: patient, classes: [] }], error.status, error)]);
      throw error;
    };
    if (!hasCapability(principal.role, 'privacy:restrict')) return refuse(forbidden(`Your role (${principal.role}) does not allow this (privacy:restrict).`));
    if (principal.smart !== undefined) return refuse(forbidden('Third-party apps cannot restrict processing.'));
    if (!idPattern.test(patientId)) return refuse(new PrivacyError('restriction-invalid', 'A Patient id is 1–64 of A–Z, a–z, 0–9, "-" and ".".', { status: 400 }));
    return { tenantId, patient, principal, ctx };
  }
  const caller = (request: FastifyRequest, principal: Principal) => ({ actor: actorOf(principal), purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip });

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.post('/privacy/restrictions/:patientId', async (request, reply) => {
      const { tenantId, patient, principal } = await admit(request, 'privacy.restricted');
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new PrivacyError('restriction-invalid', 'Send a JSON object.', { status: 400 });
      const allowed = body['allowedRoles'];
      if (allowed !== undefined && (!Array.isArray(allowed) || allowed.some((r) => typeof r !== 'string'))) throw new PrivacyError('restriction-invalid', 'allowedRoles: a list of role names.', { status: 400 });
      const restriction = await restrictions.restrict(tenantId, patient, {
        by: caller(request, principal),
        ground: String(body['ground'] ?? ''),
        ...(allowed === undefined ? {} : { allowedRoles: allowed as string[] }),
        ...(typeof body['requestId'] === 'string' ? { requestId: body['requestId'] } : {}),
      });
      return reply.status(201).type('application/json; charset=utf-8').send(JSON.stringify(restrictionJson(restriction)));
    });
    app.delete('/privacy/restrictions/:patientId', async (request, reply) => {
      const { tenantId, patient, principal } = await admit(request, 'privacy.restriction_lifted');
      const requestId = (request.query as Record<string, unknown>)['requestId'];
      const lifted = await restrictions.lift(tenantId, patient, { by: caller(request, principal), ...(typeof requestId === 'string' ? { requestId } : {}) });
      if (!lifted) throw new PrivacyError('restriction-not-found', 'This patient is not restricted.', { status: 404 });
      return reply.status(204).send();
    });
    app.get('/privacy/restrictions/:patientId', async (request, reply) => {
      const { tenantId, patient, ctx } = await admit(request, 'record.read');
      const restriction = await restrictions.get(tenantId, patient);
      // Whether a patient is restricted is data about them: the look is audited like a read.
      await audit.record(tenantId, [{ ...accessEvent(ctx, 'record.read', [{ ref: patient, subject: patient, classes: [] }], restriction === undefined ? 404 : 200), detail: 'restriction' }]);
      if (restriction === undefined) throw new PrivacyError('restriction-not-found', 'This patient is not restricted.', { status: 404 });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(restrictionJson(restriction)));
    });
  };
}
