/**
 * @module console
 * The pages people use, server-rendered in one layout (platform/pages): the landing page, the
 * sign-in and account pages of both realms (a tenant's people under `/tenants/{t}/account/`,
 * platform operators under `/platform/account/`), the clinic console, the patient portal and the
 * operator console. Pages call the same services and the same guard as the API; none has SQL.
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts, Authenticator, Sessions } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import { passkeyScript, passkeyScriptName, type Clients, type Consents, type OAuthServer } from '../oauth/index.js';
import { assetRoutes, servePages } from '../platform/pages/index.js';
import type { PersonRecords } from '../records/index.js';
import type { Tenants } from '../tenants/index.js';
import { appsPage } from './account/apps.js';
import { accountHome } from './account-home.js';
import { clinicConsole } from './clinic/index.js';
import { createPageGuard } from './page-guard.js';
import { landingPages } from './landing.js';
import { createPagePeople } from './page-person.js';
import { operatorPages, tenantPages } from './page-realm.js';
import { signInPages } from './sign-in.js';

export { accountNav } from './account-home.js';
export { createPageGuard, type OperatorCaller, type PageGuard, type StaffCaller } from './page-guard.js';
export { createPagePeople, type PagePeople, type PagePerson } from './page-person.js';
export { operatorPages, safeNext, tenantPages, type PageRealm } from './page-realm.js';

export interface ConsoleDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly keys: Keys;
  readonly authenticator: Authenticator;
  /** Connected apps (`…/account/apps`): the app register, the person's consents, withdrawing them. */
  readonly clients: Clients;
  readonly consents: Consents;
  readonly oauth: OAuthServer;
  /** Records read as the signed-in person, guarded and audited like the FHIR API. */
  readonly personRecords: PersonRecords;
}

export function consolePages({ accounts, sessions, tenants, keys, authenticator, clients, consents, oauth, personRecords }: ConsoleDeps) {
  const mfaPolicy = (realmId: string) => tenants.mfaPolicy(realmId);
  const people = createPagePeople({ sessions, accounts, mfaPolicy });
  const guard = createPageGuard({ people, authenticator });
  const tenantRealm = tenantPages(tenants);
  const realms = [tenantRealm, operatorPages];
  return async function plugin(app: FastifyInstance): Promise<void> {
    servePages(app, 'page');
    // The app sign-in page's passkey button (oauth module): a file of this origin, like every script.
    await app.register(assetRoutes(new Map([[passkeyScriptName, passkeyScript]])));
    await app.register(landingPages());
    for (const realm of realms) {
      await app.register(signInPages(realm, { accounts, sessions, keys, people, mfaPolicy }));
      await app.register(accountHome(realm, { people }));
    }
    await app.register(appsPage({ guard, realm: tenantRealm, clients, consents, oauth, personRecords }));
    await app.register(clinicConsole({ guard, realm: tenantRealm }));
  };
}
