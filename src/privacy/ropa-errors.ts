import { AppError } from '../platform/errors.js';

export type RopaErrorCode = 'ropa-format-invalid' | 'ropa-forbidden';

/** Errors of the records of processing; callers switch on `code`. */
export class RopaError extends AppError<RopaErrorCode> {}
