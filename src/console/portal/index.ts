import type { FastifyInstance } from 'fastify';
import { portalAccessPage } from './access-log.js';
import type { PortalDeps } from './portal-page.js';
import { portalRecordsPage } from './records.js';
import { portalRequestsPage } from './requests.js';
import { portalDataPage } from './data.js';
import { portalConsentsPage, type PortalConsentDeps } from './consents.js';

export { portalNav, portalPath, type PortalDeps } from './portal-page.js';


/** The patient portal under `/tenants/{t}/me/`: the patient's own records and who accessed them. */
export function patientPortal(deps: PortalDeps & Partial<Pick<PortalConsentDeps, 'clients' | 'consentWriter'>>) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(portalRecordsPage(deps));
    await app.register(portalAccessPage(deps));
    if (deps.privacyRequests !== undefined) await app.register(portalRequestsPage({ ...deps, requests: deps.privacyRequests }));
    await app.register(portalDataPage(deps));
    // My consents: where the privacy consents are wired (app.ts).
    if (deps.clients !== undefined && deps.consentWriter !== undefined) await app.register(portalConsentsPage({ ...deps, clients: deps.clients, consentWriter: deps.consentWriter }));
  };
}
