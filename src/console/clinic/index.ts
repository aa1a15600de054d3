import type { FastifyInstance } from 'fastify';
import type { AccountAdministration, Accounts } from '../../identity/index.js';
import type { AppRegister } from '../../oauth/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import type { Audit } from '../../audit/index.js';
import type { RecordAccess } from '../../records/index.js';
import { hasCapability } from '../../identity/index.js';
import type { Alerts } from '../../detection/index.js';
import type { FrozenScopes, Incidents } from '../../incidents/index.js';
import type { Assessments } from '../../notification/index.js';
import { clinicAlertPages } from './alerts.js';
import { clinicIncidentPages } from './incidents.js';
import { appPages } from './apps.js';
import { auditPages } from './audit.js';
import { erasurePages, type ErasurePagesDeps } from './erasure-retention.js';
import { clinicHome } from './home.js';
import { clinicRequestPages } from './privacy-requests.js';
import type { PrivacyRequests, Rectifications } from '../../privacy/index.js';
import { openAlertsShown } from './nav.js';
import { patientPages } from './patients.js';
import { restrictionPages } from './restrictions.js';
import { reviewPages } from './review.js';
import { ropaPages } from './ropa.js';
import { settingsPages } from './settings.js';
import { staffPages } from './staff.js';
import { dataDownloadPages } from './data-download.js';
import type { SubjectExports } from '../../privacy/index.js';

import type { NoticeDrafts } from '../../notification/index.js';
import type { Restrictions, Ropa } from '../../privacy/index.js';
import type { RegionReport } from '../../regions/index.js';

export { clinicNav, sectionsOf, sectionPath, type ClinicSection } from './nav.js';
export { sendClinicPage } from './clinic-page.js';

export interface ClinicConsoleDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly administration: AccountAdministration;
  /** The tenant's accounts, read to name who handled something (privacy requests). */
  readonly accounts: Pick<Accounts, 'list'>;
  readonly appRegister: AppRegister;
  /** Reads as the signed-in person, permission-checked and audited as over FHIR (the one record access service). */
  readonly access: RecordAccess;
  readonly audit: Audit;
  /** The tenant's alerts: their pages, and the count of open ones in the navigation. */
  readonly alerts: Alerts;
  /** Incidents that affect the tenant (incidents/). */
  readonly incidents: Incidents;
  /** Breach scopes frozen into incidents: the tenant's own part, on the incident page. */
  readonly scopes?: FrozenScopes | undefined;
  /** The notification checklist: the tenant's own items, read-only. */
  readonly assessments?: Assessments | undefined;
  /** Breach notices: the tenant's customer notice and authority report, on the incident page. */
  readonly drafts?: NoticeDrafts | undefined;
  /** Data subjects' requests: the "Privacy requests" section (privacy:manage). */
  readonly privacyRequests?: PrivacyRequests | undefined;
  readonly rectifications?: Rectifications | undefined;
  /** Where the tenant's data is kept, and what is not regionalised: on the settings page. */
  readonly region?: ((tenantId: string) => RegionReport) | undefined;
  readonly now: () => number;
  /** Records of processing (privacy/): the tenant's, generated when the page is opened. */
  readonly ropa: Ropa;
  /** Erasure, legal holds and retention (privacy/): the "Erasure & retention" section. */
  readonly privacy?: Pick<ErasurePagesDeps, 'erasures' | 'holds' | 'retention' | 'settings'> | undefined;
  /** Patients' personal downloads: the "prepare this patient's data download" action (privacy:manage). */
  readonly exports?: SubjectExports;
  /** Restriction of processing (privacy/): the "Restrictions" section (privacy:restrict). */
  readonly restrictions?: Restrictions | undefined;
}

/** The clinic console under `/tenants/{t}/console/`: one plugin per section. */
export function clinicConsole(given: ClinicConsoleDeps) {
  const deps = { ...given, guard: withOpenAlerts(given.guard, given.alerts) };
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(clinicHome(deps));
    await app.register(staffPages(deps));
    await app.register(appPages(deps));
    await app.register(settingsPages(deps));
    await app.register(patientPages(deps));
    if (deps.exports !== undefined) await app.register(dataDownloadPages({ guard: deps.guard, realm: deps.realm, exports: deps.exports }));
    await app.register(auditPages(deps));
    await app.register(reviewPages(deps));
    await app.register(clinicAlertPages(deps));
    await app.register(clinicIncidentPages(deps));
    if (deps.privacyRequests !== undefined && deps.rectifications !== undefined) await app.register(clinicRequestPages({ ...deps, requests: deps.privacyRequests, rectifications: deps.rectifications }));
    await app.register(ropaPages(deps));
    if (deps.privacy !== undefined) await app.register(erasurePages({ ...deps, ...deps.privacy }));
    if (deps.restrictions !== undefined) await app.register(restrictionPages({ ...deps, restrictions: deps.restrictions }));
  };
}

/**
 * The clinic's guard, with the count of open alerts (nobody acknowledged them yet) added for a
 * role that may read them, so every page's navigation shows it; other roles never learn it.
 */
function withOpenAlerts(guard: PageGuard, alerts: Alerts): PageGuard {
  return {
    ...guard,
    async person(request, reply, realm) {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined || !hasCapability(caller.principal.role, 'alerts:read')) return caller;
      const open = await alerts.list(caller.me.realmId, { state: 'open', limit: openAlertsShown });
      return { ...caller, openAlerts: open.length };
    },
  };
}
