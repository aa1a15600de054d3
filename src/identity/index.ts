/**
 * @module identity
 * Who is calling and what their role allows: service accounts with API keys (stored as SHA-256
 * of a 256-bit secret, shown once), people with passwords, second factors and sessions, and the
 * permission matrix every endpoint asks (permissions.ts). OAuth tokens arrive with the OAuth issue.
 */
export { createApiKeys, type ApiKeys, type ApiKeyInfo } from './api-keys.js';
export {
  capabilities,
  exceedsReach,
  grantOf,
  hasCapability,
  isStaff,
  keyRoles,
  matrix,
  matrixMarkdown,
  mayDo,
  parseRole,
  personRoles,
  readsRecords,
  recordActions,
  roles,
  type Capability,
  type Grant,
  type KeyRole,
  type PersonRole,
  type Principal,
  type RecordAction,
  type Role,
  type RoleDefinition,
  type Scope,
} from './permissions.js';
export { IdentityError, unauthenticated, forbidden, type IdentityErrorCode } from './errors.js';
export { identityMigrations } from './migrations.js';
export { accountMigrations, countAccountsByKind } from './account-store.js';
export { createAccounts, setupTokenHours, type Accounts, type AccountInfo } from './accounts.js';
export { argon2Minimum, createPasswordHasher, type PasswordHasher } from './passwords.js';
export { authRoutes } from './routes.js';
export { createPasskeys, challengeMinutes, maxPasskeys, type Passkeys, type PasskeyInfo, type RelyingParty } from './passkeys.js';
export { passkeyRoutes } from './passkey-routes.js';
export { cookieToken, createAuthenticator, sessionCookie, type AppTokens, type Authenticator, type OperatorPrincipal } from './authenticate.js';
export { operatorRealm, operatorRoles, type OperatorRole } from './realm.js';
export { platformRealm, tenantRealm, type SignInRealm } from './sign-in-realm.js';
export { checkNewPassword, maxLength as passwordMaxLength, minLength as passwordMinLength } from './passwords.js';
export { operatorRoutes } from './operator-routes.js';
export { createOperatorTenants, moveReasonOf, type OperatorAct, type OperatorTenants, type TenantMover } from './operator-tenants.js';
export { createLoginThrottle, throttlePolicy, type LoginThrottle } from './throttle.js';
export { createCredentialThrottle, credentialThrottlePolicy, type CredentialThrottle, type CredentialMethod } from './credential-throttle.js';
export { createSessions, sessionDefaults, sessionMigrations, type SessionInfo, type SessionPolicy, type Sessions } from './sessions.js';
export { accountAdminMigrations } from './account-store.js';
export { AccountError, resetTokenMinutes, resetTokensPerHour, type AccountErrorCode, type ChangeContext } from './accounts.js';
export { adminRoutes } from './admin-routes.js';
export { actorOf, createAccountAdministration, resetReasonMax, type AccountAdministration, type Administrator, type RequestContext } from './administration.js';
export { admitAdministrator, isTwoFactorPerson } from './two-factor-person.js';
export { invitationMessage, resetMessage } from './messages.js';
export { createMailNotifier, type MailDelivery } from './mail-notifier.js';
export { createOutboxNotifier, createPasswordResets, type Message, type MessageKind, type Notifier, type Outbox, type OutboxEntry, type PasswordResets, type Spool } from './notifier.js';
export { sweepIdentity, sweepIdentityPeriodically } from './housekeeping.js';
export { ownSessions, type OwnSessions, type OwnSessionsContext } from './own-sessions.js';
