import type { FastifyInstance } from 'fastify';
import { portalAccessPage } from './access-log.js';
import type { PortalDeps } from './portal-page.js';
import { portalRecordsPage } from './records.js';
import { portalConsentsPage, type PortalConsentDeps } from './consents.js';

export { portalNav, portalPath, type PortalDeps } from './portal-page.js';


/** The patient portal under `/tenants/{t}/me/`: the patient's own records and who accessed them. */
export function patientPortal(deps: PortalDeps & Partial<Pick<PortalConsentDeps, 'clients' | 'consentWriter'>>) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(portalRecordsPage(deps));
    await app.register(portalAccessPage(deps));
    // My consents: where the privacy consents are wired (app.ts).
    if (deps.clients !== undefined && deps.consentWriter !== undefined) await app.register(portalConsentsPage({ ...deps, clients: deps.clients, consentWriter: deps.consentWriter }));
  };
}
