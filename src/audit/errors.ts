import { AppError } from '../platform/errors.js';

export type AuditErrorCode = 'audit-unavailable';

export class AuditError extends AppError<AuditErrorCode> {}
