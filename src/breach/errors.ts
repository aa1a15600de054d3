import { AppError } from '../platform/errors.js';

export type BreachErrorCode =
  /** The window, the suspect or the tenants do not make a scope (the message names the field). */
  | 'scope-invalid'
  /** A tenant named in the request does not exist. */
  | 'tenant-not-found';

/** Breach scope failures: each names the input at fault. */
export class BreachError extends AppError<BreachErrorCode> {}
