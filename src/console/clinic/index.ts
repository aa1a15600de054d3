import type { FastifyInstance } from 'fastify';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import type { Audit } from '../../audit/index.js';
import type { RecordAccess } from '../../records/index.js';
import { auditPages } from './audit.js';
import { clinicHome } from './home.js';
import { patientPages } from './patients.js';
import { reviewPages } from './review.js';

export { clinicNav, sectionsOf, sectionPath, type ClinicSection } from './nav.js';
export { sendClinicPage } from './clinic-page.js';

export interface ClinicConsoleDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly access: RecordAccess;
  readonly audit: Audit;
}

/** The clinic console under `/tenants/{t}/console/`: one plugin per section. */
export function clinicConsole(deps: ClinicConsoleDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(clinicHome(deps));
    await app.register(patientPages(deps));
    await app.register(auditPages(deps));
    await app.register(reviewPages(deps));
  };
}
