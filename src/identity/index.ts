/**
 * @module identity
 * Who is calling and what their role allows. Today: service accounts with API keys (stored as
 * SHA-256 of a 256-bit secret, shown once) and three placeholder roles. People, passwords and
 * second factors arrive with the identity issue; OAuth tokens with the OAuth issue.
 */
export { createApiKeys, type ApiKeys, type ApiKeyInfo, type Principal } from './api-keys.js';
export { roles, parseRole, hasPermission, type Role, type Permission } from './roles.js';
export { IdentityError, unauthenticated, forbidden, type IdentityErrorCode } from './errors.js';
export { identityMigrations } from './migrations.js';
export { accountMigrations } from './account-store.js';
export { createAccounts, personRoles, setupTokenHours, type Accounts, type AccountInfo, type PersonRole } from './accounts.js';
export { argon2Minimum, createPasswordHasher, type PasswordHasher } from './passwords.js';
export { authRoutes } from './routes.js';
export { createLoginThrottle, throttlePolicy, type LoginThrottle } from './throttle.js';
export { createSessions, sessionDefaults, sessionMigrations, type SessionInfo, type SessionPolicy, type Sessions } from './sessions.js';
