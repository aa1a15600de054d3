/**
 * @module regions
 * Data residency: the regions of a deployment (each its own data directory or database, key
 * store and master key, backup repository and audit checkpoints), which region holds each
 * tenant, and the storage and keys routed by it. Lists what is not regionalised. Does not decide
 * who may read what (identity, records) nor how data sets are stored (platform/db).
 */
export { openRegions, regionStorageConfig, residencyOf, type OpenedRegions, type OpenRegionsDeps, type Residency } from './open-regions.js';
export { createPlacement, type Placement } from './placement.js';
export { createRegionalStorage, type RegionalStorage } from './regional-storage.js';
export { createRegionalKeys } from './regional-keys.js';
export { openRegionalTenantStorage } from './regional-tenant-storage.js';
export { regionReport, type RegionReport, type SharedComponent, type SharedComponentId } from './not-regionalised.js';
export { regionRoutes, type RegionRoutesDeps } from './routes.js';
export { moveTenant, MoveRefused, thawTenant, type MoveBackup, type MoveReport, type MoveTenantDeps } from './move-tenant.js';
