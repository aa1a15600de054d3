import { AppError } from '../platform/errors.js';

export type DetectionErrorCode = 'settings-invalid' | 'rules-config-invalid' | 'alert-not-found' | 'alert-state-conflict' | 'alert-invalid' | 'unknown-rule';

export class DetectionError extends AppError<DetectionErrorCode> {}
