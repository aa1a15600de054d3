import { AppError } from '../platform/errors.js';

export type DetectionErrorCode = 'webhook-not-found' | 'webhook-invalid' | 'webhook-limit' | 'settings-invalid' | 'rules-config-invalid' | 'alert-not-found' | 'alert-state-conflict' | 'alert-invalid' | 'unknown-rule' | 'detection-worker-exited';

export class DetectionError extends AppError<DetectionErrorCode> {}
