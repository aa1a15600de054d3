import type { FastifyInstance } from 'fastify';
import type { AccountAdministration } from '../../identity/index.js';
import type { AppRegister } from '../../oauth/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import type { Audit } from '../../audit/index.js';
import type { RecordAccess } from '../../records/index.js';
import { appPages } from './apps.js';
import { auditPages } from './audit.js';
import { clinicHome } from './home.js';
import { patientPages } from './patients.js';
import { reviewPages } from './review.js';
import { settingsPages } from './settings.js';
import { staffPages } from './staff.js';

export { clinicNav, sectionsOf, sectionPath, type ClinicSection } from './nav.js';
export { sendClinicPage } from './clinic-page.js';

export interface ClinicConsoleDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly administration: AccountAdministration;
  readonly appRegister: AppRegister;
  /** Reads as the signed-in person, permission-checked and audited as over FHIR (the one record access service). */
  readonly access: RecordAccess;
  readonly audit: Audit;
}

/** The clinic console under `/tenants/{t}/console/`: one plugin per section. */
export function clinicConsole(deps: ClinicConsoleDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(clinicHome(deps));
    await app.register(staffPages(deps));
    await app.register(appPages(deps));
    await app.register(settingsPages(deps));
    await app.register(patientPages(deps));
    await app.register(auditPages(deps));
    await app.register(reviewPages(deps));
  };
}
