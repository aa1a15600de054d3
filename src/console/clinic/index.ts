import type { FastifyInstance } from 'fastify';
import type { AccountAdministration } from '../../identity/index.js';
import type { AppRegister } from '../../oauth/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { appPages } from './apps.js';
import { clinicHome } from './home.js';
import { settingsPages } from './settings.js';
import { staffPages } from './staff.js';

export { clinicNav, sectionsOf, sectionPath, type ClinicSection } from './nav.js';
export { sendClinicPage } from './clinic-page.js';

export interface ClinicConsoleDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly administration: AccountAdministration;
  readonly appRegister: AppRegister;
}

/** The clinic console under `/tenants/{t}/console/`: one plugin per section. */
export function clinicConsole(deps: ClinicConsoleDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(clinicHome(deps));
    await app.register(staffPages(deps));
    await app.register(appPages(deps));
    await app.register(settingsPages(deps));
  };
}
