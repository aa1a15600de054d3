import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RegionReport } from './not-regionalised.js';

export interface RegionRoutesDeps {
  /** Who calls (any person or API key of the tenant; 401/403 otherwise): the one authenticator. */
  readonly authenticate: (request: FastifyRequest, tenantId: string) => Promise<unknown>;
  readonly report: (tenantId: string) => RegionReport;
}

/**
 * `GET /tenants/{t}/region`: the tenant's region, where it is, and every component that is not
 * kept in it, with where that runs — so a customer is told when a service cannot be regionalised.
 * Open to anyone of the tenant: it describes the deployment, not a person, so it is not audited.
 */
export function regionRoutes({ authenticate, report }: RegionRoutesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/region', async (request, reply) => {
      const tenantId = (request.params as { tenant: string }).tenant;
      await authenticate(request, tenantId);
      return reply.header('cache-control', 'no-store').send(report(tenantId));
    });
  };
}
