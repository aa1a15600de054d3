import { AppError } from '../platform/errors.js';

/** Refusals of the app register, consents and sign-in pages (token refusals are RFC 6750 errors of identity/authenticate.ts and records/guard.ts). */
export type OAuthErrorCode = 'client-invalid' | 'client-not-found' | 'client-not-pending' | 'consent-not-found' | 'interaction-invalid';

export class OAuthError extends AppError<OAuthErrorCode> {}
