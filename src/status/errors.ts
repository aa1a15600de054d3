import { AppError } from '../platform/errors.js';

export type StatusErrorCode = 'status-invalid' | 'status-not-found' | 'public-text-unsafe' | 'status-unavailable';

/** The status page's refusals; callers switch on `code`. */
export class StatusError extends AppError<StatusErrorCode> {}
