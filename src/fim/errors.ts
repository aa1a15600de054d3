import { AppError } from '../platform/errors.js';

/**
 * `fim-baseline-invalid`: the baseline file does not parse or its signature does not verify
 * (edited, or signed by another deployment's key) — never read as "no changes".
 * `fim-baseline-missing`: there is no baseline to compare with yet.
 */
export type FimErrorCode = 'fim-baseline-invalid' | 'fim-baseline-missing';

export class FimError extends AppError<FimErrorCode> {}
