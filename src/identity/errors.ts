import { AppError } from '../platform/errors.js';

export type IdentityErrorCode =
  | 'unauthenticated'
  | 'forbidden'
  | 'role-invalid'
  | 'apikey-not-found'
  | 'password-too-short'
  | 'password-too-long'
  | 'password-common'
  | 'password-context'
  | 'auth-busy'
  | 'token-invalid'
  | 'email-invalid'
  | 'account-exists'
  | 'login-failed'
  | 'login-throttled'
  | 'auth-throttled'
  | 'account-locked'
  | 'csrf-invalid'
  | 'password-wrong'
  | 'second-factor-failed'
  | 'second-factor-required'
  | 'approval-required'
  | 'outside-compartment'
  | 'not-in-care'
  | 'break-glass-invalid'
  | 'consent-denied'
  | 'processing-restricted';

export class IdentityError extends AppError<IdentityErrorCode> {}

export function unauthenticated(): IdentityError {
  // RFC 6750 §3: a 401 on a bearer-protected resource carries WWW-Authenticate.
  return new IdentityError('unauthenticated', 'A valid credential is required: Authorization: Bearer <API key>, or a session cookie.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tresor"' },
  });
}

/**
 * An API key was presented but is not valid: unlike no credential at all, this says so (RFC 6750
 * §3.1 `invalid_token`), without telling an unknown key from a revoked one.
 */
export function apiKeyRejected(): IdentityError {
  return new IdentityError('unauthenticated', 'The API key is not valid: it is unknown or has been revoked.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tresor", error="invalid_token"' },
  });
}

export function forbidden(message: string): IdentityError {
  return new IdentityError('forbidden', message, { status: 403 });
}
