/** OAuth 2.0 and SMART on FHIR for third-party apps, on oidc-provider (provider.ts says why and how). */
export { createOAuthServer, type OAuthServer, type OAuthSettings, type TokenGrant } from './provider.js';
export { createClients, oauthClientMigrations, clientKinds, clientAuthMethods, backendRoles, type ClientInfo, type ClientInput, type Clients, type ClientKind } from './clients.js';
export { createConsents, oauthConsentMigrations, type Consent, type Consents } from './consents.js';
export { oauthArtifactMigrations } from './artifact-migrations.js';
export { sweepArtifacts } from './adapter.js';
export { createAppTokens } from './app-tokens.js';
export { oauthRoutes } from './routes.js';
export { createAppRegister, type AppManager, type AppRegister } from './app-register.js';
export { connectedApps, type ConnectedApp } from './connected-apps.js';
export { describeScopeFor, type ScopeAudience } from './scope-texts.js';
export { patientOption } from './pages.js';
export { OAuthError, type OAuthErrorCode } from './errors.js';

import { oauthArtifactMigrations } from './artifact-migrations.js';
import { oauthClientMigrations } from './clients.js';
import { oauthConsentMigrations } from './consents.js';

/** The OAuth tables of a tenant's data set, in order. */
export const oauthMigrations = [...oauthArtifactMigrations, ...oauthClientMigrations, ...oauthConsentMigrations];
