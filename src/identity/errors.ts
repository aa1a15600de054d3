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
  | 'break-glass-invalid';

export class IdentityError extends AppError<IdentityErrorCode> {}

export function unauthenticated(): IdentityError {
  // RFC 6750 §3: a 401 on a bearer-protected resource carries WWW-Authenticate.
  return new IdentityError('unauthenticated', 'A valid credential is required: Authorization: Bearer <API key>, or a session cookie.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tresor"' },
  });
}

export function forbidden(message: string): IdentityError {
  return new IdentityError('forbidden', message, { status: 403 });
}
