import { AppError } from '../platform/errors.js';

export type NotificationErrorCode = 'assessment-invalid' | 'assessment-not-found' | 'assessment-item-not-found' | 'assessment-no-scope';

export class NotificationError extends AppError<NotificationErrorCode> {}

export const invalidAssessment = (message: string): NotificationError => new NotificationError('assessment-invalid', message, { status: 400, expose: true });
