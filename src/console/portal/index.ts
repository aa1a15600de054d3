import type { FastifyInstance } from 'fastify';
import type { RecordAccess } from '../../records/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { portalAccessPage } from './access-log.js';
import { portalRecordsPage } from './records.js';

export { portalNav, portalPath } from './portal-page.js';

export interface PortalDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly access: RecordAccess;
}

/** The patient portal under `/tenants/{t}/me/`: the patient's own records and who accessed them. */
export function patientPortal(deps: PortalDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(portalRecordsPage(deps));
    await app.register(portalAccessPage(deps));
  };
}
