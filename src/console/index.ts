/**
 * @module console
 * The pages people use, server-rendered in one layout (platform/pages): the landing page, the
 * sign-in and account pages of both realms (a tenant's people under `/tenants/{t}/account/`,
 * platform operators under `/platform/account/`), the clinic console, the patient portal and the
 * operator console. Pages call the same services and the same guard as the API; none has SQL.
 */
import type { PrivacyRequests, Rectifications } from '../privacy/index.js';
import type { FastifyInstance } from 'fastify';
import type { Audit } from '../audit/index.js';
import { ownSessions, type AccountAdministration, type Accounts, type Authenticator, type Passkeys, type PasswordResets, type Sessions } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import type { RecordAccess } from '../records/index.js';
import { assetRoutes, servePages } from '../platform/pages/index.js';
import type { AppRegister, Clients, Consents, OAuthServer } from '../oauth/index.js';
import type { Tenants } from '../tenants/index.js';
import { appsPage } from './account/apps.js';
import { accountHome } from './account-home.js';
import { accountPages, accountScripts } from './account/index.js';
import { createFormCsrf } from './form-csrf.js';
import type { Alerts } from '../detection/index.js';
import type { FrozenScopes, Incidents } from '../incidents/index.js';
import type { Assessments, NoticeDrafts } from '../notification/index.js';
import type { Ropa } from '../privacy/index.js';
import { clinicConsole, type ClinicConsoleDeps } from './clinic/index.js';
import { operatorConsole, type OperatorConsoleDeps } from './operator/index.js';
import { createPageGuard } from './page-guard.js';
import { patientPortal } from './portal/index.js';
import type { SubjectExports } from '../privacy/index.js';
import type { ConsentWriter, Restrictions } from '../privacy/index.js';
import { landingPages } from './landing.js';
import { createPagePeople } from './page-person.js';
import { runbookPages } from './runbooks.js';
import { operatorPages, tenantPages } from './page-realm.js';
import { signInPages } from './sign-in.js';

export { accountNav } from './account-home.js';
export { createPageGuard, type OperatorCaller, type PageGuard, type StaffCaller } from './page-guard.js';
export { createPagePeople, type PagePeople, type PagePerson } from './page-person.js';
export type { OperatorConsoleDeps } from './operator/index.js';
export { operatorPages, safeNext, tenantPages, type PageRealm } from './page-realm.js';

import type { RegionReport } from '../regions/index.js';

export interface ConsoleDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly keys: Keys;
  readonly authenticator: Authenticator;
  readonly passkeys: Passkeys;
  readonly passwordResets: PasswordResets;
  readonly audit: Audit;
  /** Reads as the signed-in person, permission-checked and audited as over FHIR. */
  readonly access: RecordAccess;
  /** The rules of account administration (shared with the JSON admin routes). */
  readonly administration: AccountAdministration;
  /** The tenant's app register (shared with the JSON `/apps` routes). */
  readonly appRegister: AppRegister;
  /** Connected apps (`…/account/apps`): the app register, the person's consents, withdrawing them. */
  readonly clients: Clients;
  readonly consents: Consents;
  readonly oauth: OAuthServer;
  /** The operator console's own services (backups, rotation, readiness, metrics). */
  readonly operator: OperatorConsoleDeps;
  readonly clock: Clock;
  /** Alerts of every realm (detection/alerts.ts): the clinic's and the operators' alert pages. */
  readonly alerts: Alerts;
  /** Incidents (incidents/): the operators' and the clinic's incident pages. */
  readonly incidents: Incidents;
  /** Breach scopes frozen into incidents: the incident pages' breach scope section. */
  readonly incidentScopes?: FrozenScopes;
  /** The breach notification checklist of incidents: its page beside each incident's. */
  readonly assessments?: Assessments;
  /** Drafts of breach notices: the operator console's notice pages. */
  readonly noticeDrafts?: NoticeDrafts;
  /** Data subjects' requests: the portal's requests page and the clinic's queue. */
  readonly privacyRequests?: PrivacyRequests;
  readonly rectifications?: Rectifications;
  /** Records of processing (privacy/): the clinic's and the operators' pages. */
  readonly ropa: Ropa;
  /** Erasure, legal holds and retention: the clinic console's "Erasure & retention" section. */
  readonly privacy?: ClinicConsoleDeps['privacy'];
  /** Patients' personal downloads: the portal's "Download your data" and the console's action for staff. */
  readonly subjectExports?: SubjectExports;
  /** Patients' privacy consents written from the portal ("My consents"). */
  readonly consentWriter?: ConsentWriter;
  /** Restriction of processing: the clinic console's "Restrictions" section. */
  readonly restrictions?: Restrictions;
  /** Where each tenant's data is kept and what is not regionalised (regions/): the clinic settings page shows it. */
  readonly region?: (tenantId: string) => RegionReport;
}

export function consolePages({ accounts, sessions, tenants, keys, authenticator, passkeys, passwordResets, audit, access, administration, appRegister, clients, consents, oauth, operator, clock, alerts, incidents, incidentScopes, assessments, noticeDrafts, privacyRequests, rectifications, ropa, privacy, subjectExports, consentWriter, region, restrictions }: ConsoleDeps) {
  const mfaPolicy = (realmId: string) => tenants.mfaPolicy(realmId);
  const people = createPagePeople({ sessions, accounts, mfaPolicy });
  const guard = createPageGuard({ people, authenticator });
  const tenantRealm = tenantPages(tenants);
  const realms = [tenantRealm, operatorPages];
  const forms = createFormCsrf(keys);
  const own = ownSessions({ sessions, audit });
  return async function plugin(app: FastifyInstance): Promise<void> {
    servePages(app, 'page');
    await app.register(assetRoutes(new Map([...accountScripts])));
    await app.register(landingPages());
    for (const realm of realms) {
      await app.register(signInPages(realm, { accounts, sessions, passkeys, forms, people, mfaPolicy, own }));
      await app.register(accountHome(realm, { people }));
      await app.register(accountPages(realm, { accounts, sessions, passkeys, passwordResets, audit, people, forms }));
    }
    await app.register(appsPage({ guard, realm: tenantRealm, clients, consents, oauth, access }));
    await app.register(clinicConsole({ guard, realm: tenantRealm, administration, appRegister, access, audit, accounts, alerts, incidents, scopes: incidentScopes, assessments, drafts: noticeDrafts, privacyRequests, rectifications, now: () => clock.now().getTime(), ropa, privacy, ...(subjectExports === undefined ? {} : { exports: subjectExports }), ...(region === undefined ? {} : { region }), ...(restrictions === undefined ? {} : { restrictions }) }));
    await app.register(patientPortal({ guard, realm: tenantRealm, access, clock, privacyRequests, clients, ...(subjectExports === undefined ? {} : { exports: subjectExports }), ...(consentWriter === undefined ? {} : { consentWriter }) }));
    await app.register(operatorConsole({ guard, tenants, keys, deps: operator, alerts, incidents, scopes: incidentScopes, assessments, drafts: noticeDrafts, ropa }));
    await app.register(runbookPages({ rules: alerts.rules }));
  };
}
