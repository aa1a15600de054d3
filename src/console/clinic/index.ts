import type { FastifyInstance } from 'fastify';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { clinicHome } from './home.js';

export { clinicNav, sectionsOf, sectionPath, type ClinicSection } from './nav.js';
export { sendClinicPage } from './clinic-page.js';

export interface ClinicConsoleDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
}

/** The clinic console under `/tenants/{t}/console/`: one plugin per section. */
export function clinicConsole(deps: ClinicConsoleDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(clinicHome(deps));
  };
}
