import { AppError } from '../platform/errors.js';

export type OAuthErrorCode =
  | 'client-invalid'
  | 'client-not-found'
  | 'consent-not-found'
  | 'invalid-token'
  | 'insufficient-scope'
  | 'interaction-invalid';

export class OAuthError extends AppError<OAuthErrorCode> {}

/** RFC 6750 §3.1: a bearer token that is unknown, expired, revoked or of another tenant. */
export function invalidToken(): OAuthError {
  return new OAuthError('invalid-token', 'The access token is not valid here: unknown, expired, revoked, or issued for another tenant.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tresor", error="invalid_token"' },
  });
}

/** RFC 6750 §3.1: the token is valid but its scopes do not cover this request. */
export function insufficientScope(needed: string): OAuthError {
  return new OAuthError('insufficient-scope', `The access token's scopes do not allow this: it needs ${needed}.`, {
    status: 403,
    headers: { 'www-authenticate': `Bearer realm="tresor", error="insufficient_scope", scope="${needed}"` },
  });
}
