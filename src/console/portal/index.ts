import type { FastifyInstance } from 'fastify';
import { portalAccessPage } from './access-log.js';
import type { PortalDeps } from './portal-page.js';
import { portalRecordsPage } from './records.js';
import { portalRequestsPage } from './requests.js';
import { portalDataPage } from './data.js';

export { portalNav, portalPath, type PortalDeps } from './portal-page.js';


/** The patient portal under `/tenants/{t}/me/`: the patient's own records and who accessed them. */
export function patientPortal(deps: PortalDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(portalRecordsPage(deps));
    await app.register(portalAccessPage(deps));
    if (deps.privacyRequests !== undefined) await app.register(portalRequestsPage({ ...deps, requests: deps.privacyRequests }));
    await app.register(portalDataPage(deps));
  };
}
