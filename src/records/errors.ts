import { AppError, type ErrorIssue } from '../platform/errors.js';

export type RecordErrorCode =
  | 'type-unsupported'
  | 'id-invalid'
  | 'not-found'
  | 'gone'
  | 'erased'
  | 'resource-invalid'
  | 'reference-invalid'
  | 'referenced'
  | 'id-mismatch'
  | 'version-conflict'
  | 'conflict'
  | 'key-rotated'
  | 'purpose-invalid'
  | 'search-invalid'
  | 'bundle-invalid'
  | 'media-type-unsupported'
  | 'not-acceptable'
  | 'body-invalid'
  | 'body-too-large'
  | 'method-not-allowed'
  | 'condition-invalid'
  | 'multiple-matches'
  | 'history-unsupported';

export class RecordError extends AppError<RecordErrorCode> {}

export function invalid(code: RecordErrorCode, message: string, issues: readonly ErrorIssue[] = [], status = 400): RecordError {
  return new RecordError(code, message, { status, issues });
}
