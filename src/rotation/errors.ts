import { AppError } from '../platform/errors.js';

export type RotationErrorCode = 'tenant-unknown' | 'job-unknown' | 'rotation-busy' | 'lease-lost';

export class RotationError extends AppError<RotationErrorCode> {}
