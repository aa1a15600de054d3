import { AppError } from '../platform/errors.js';

/**
 * Refusals of erasure, legal holds and retention. `erasure-held` and `erasure-retention` are the
 * GDPR Art. 17(3) exceptions: a legal claim (e) or a legal duty to keep the records (b); the
 * message names the hold's reason or the duty and the date it ends.
 */
export type ErasureErrorCode = 'erasure-held' | 'erasure-retention' | 'subject-invalid' | 'subject-not-found' | 'tenant-not-found' | 'hold-not-found' | 'hold-invalid' | 'reason-required' | 'retention-invalid';

export class ErasureError extends AppError<ErasureErrorCode> {}
