import { AppError } from '../platform/errors.js';

export type TenantErrorCode = 'tenant-id-invalid' | 'tenant-exists' | 'tenant-not-found' | 'tenant-disabled' | 'setting-invalid' | 'region-unknown' | 'tenant-moving' | 'move-refused';

export class TenantError extends AppError<TenantErrorCode> {}
