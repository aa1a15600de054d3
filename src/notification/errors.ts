import { AppError } from '../platform/errors.js';

export type NotificationErrorCode =
  | 'assessment-invalid'
  | 'assessment-not-found'
  | 'assessment-item-not-found'
  | 'assessment-no-scope'
  | 'notice-not-found'
  | 'notice-invalid'
  | 'notice-not-approved'
  | 'notice-state-conflict'
  | 'notice-four-eyes'
  | 'notice-unfinished';

export class NotificationError extends AppError<NotificationErrorCode> {}

export const invalidAssessment = (message: string): NotificationError => new NotificationError('assessment-invalid', message, { status: 400, expose: true });
export const noticeInvalid = (message: string): NotificationError => new NotificationError('notice-invalid', message, { status: 400, expose: true });
export const noticeNotFound = (): NotificationError => new NotificationError('notice-not-found', 'No such draft in this incident, or it is not yours to read.', { status: 404, expose: true });
