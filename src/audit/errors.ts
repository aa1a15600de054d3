import { AppError } from '../platform/errors.js';

export type AuditErrorCode = 'audit-unavailable' | 'review-invalid' | 'review-own-access' | 'review-not-found' | 'already-reviewed';

export class AuditError extends AppError<AuditErrorCode> {}
