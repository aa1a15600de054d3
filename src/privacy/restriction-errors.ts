import { AppError } from '../platform/errors.js';

/** Codes of the consent and restriction parts of the privacy module. */
export type PrivacyErrorCode = 'restriction-invalid' | 'restriction-not-found' | 'consent-form-invalid';

export class PrivacyError extends AppError<PrivacyErrorCode> {}
