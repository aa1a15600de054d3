import type { AppTokens } from '../identity/index.js';
import type { Storage } from '../platform/db/index.js';
import type { Records } from '../records/index.js';
import type { OAuthServer } from './provider.js';

/**
 * The FHIR API's view of an app's access token (identity/authenticate.ts asks): live at this
 * tenant's issuer and its app still registered and enabled; and whether a care relationship
 * still holds, for a clinician's token bound to a launch patient.
 */
export function createAppTokens({ oauth, records, storage }: { oauth: OAuthServer; records: Records; storage: Storage }): AppTokens {
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
      return { clientId: token.clientId, accountId: token.accountId, scope: token.scope, ...(token.patient === undefined ? {} : { patient: token.patient }) };
    },
    async inCare(tenantId, patient, practitioner) {
      return records.inCare({ tenantId, db: await storage.tenant(tenantId) }, patient, practitioner.replace(/^Practitioner\//, ''));
    },
  };
}
