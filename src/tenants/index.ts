/**
 * @module tenants
 * The customers of a Tresor deployment. Creating a tenant creates its own data set (SPEC D1);
 * disabling one stops every request to it at once. Does not hold records, keys or users.
 */
export { createTenants, listTenants, tenantRegions, tenantRegion, switchTenantRegion, mfaPolicies, reservedTenantIds, type MfaPolicy, type Tenant, type Tenants, type TenantsDeps } from './tenants.js';
export { parseTenantId, tenantIdPattern } from './tenant-id.js';
export { TenantError, type TenantErrorCode } from './errors.js';
export { tenantsMigrations } from './migrations.js';
