import { AppError } from '../platform/errors.js';

export type KeyErrorCode = 'integrity-failed' | 'key-missing' | 'key-shredded' | 'key-file-unsafe' | 'key-provider-failed' | 'subject-invalid';

export class KeyError extends AppError<KeyErrorCode> {}
