import { KeyError } from '../keys/index.js';
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

/**
 * A stored version that failed its integrity check when opened for a read (a flipped byte, a
 * ciphertext moved under another id, a key that does not match): still `integrity-failed` and a
 * 500 to the caller, now naming the version (`Type/id/_history/n`) and whose key sealed it, so the
 * failure is recorded as `record.integrity_failed` for detection — ids only, never contents.
 */
export class IntegrityFailure extends KeyError {
  readonly resource: string;
  /** `Patient/<id>` whose key sealed it, or `_tenant`. */
  readonly subject: string;
  constructor(resource: string, subject: string, cause: unknown) {
    super('integrity-failed', 'Stored data failed its integrity check.', { status: 500, expose: true, cause });
    this.resource = resource;
    this.subject = subject;
  }
}
