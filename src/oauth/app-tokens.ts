import type { Accounts, AppTokens } from '../identity/index.js';
import type { Storage } from '../platform/db/index.js';
import type { Records } from '../records/index.js';
import type { OAuthServer } from './provider.js';

/**
 * The FHIR API's view of an app's access token (identity/authenticate.ts asks): live at this
 * tenant's issuer, its app still registered and enabled, and — for a clinician's token bound to a
 * launch patient — that patient still in the clinician's care (the role caps the token for its
 * whole life, not only at consent).
 */
export function createAppTokens({ oauth, records, storage, accounts }: { oauth: OAuthServer; records: Records; storage: Storage; accounts: Accounts }): AppTokens {
  return {
    async resolve(tenantId, value) {
      const token = await oauth.resolveToken(tenantId, value);
      if (token === undefined) return undefined;
      // The app, found with the token in one query: still registered and enabled.
      const client = token.app;
      if (client === undefined || !client.active) return undefined;
      if (token.accountId === undefined) {
        // Client credentials: only a backend service, acting with its registered role.
        if (client.kind !== 'backend' || (client.role !== 'service' && client.role !== 'service-reader')) return undefined;
        return { clientId: token.clientId, serviceRole: client.role, scope: token.scope };
      }
      if (token.patient !== undefined) {
        const account = await accounts.access(tenantId, token.accountId);
        if (account?.role === 'clinician') {
          const practitionerId = account.practitioner?.replace(/^Practitioner\//, '');
          if (practitionerId === undefined || !(await records.inCare({ tenantId, db: await storage.tenant(tenantId) }, token.patient, practitionerId))) return undefined;
        }
      }
      return { clientId: token.clientId, accountId: token.accountId, scope: token.scope, ...(token.patient === undefined ? {} : { patient: token.patient }) };
    },
  };
}
