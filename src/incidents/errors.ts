import { AppError } from '../platform/errors.js';

export type IncidentErrorCode = 'incident-not-found' | 'incident-invalid' | 'incident-state-conflict' | 'task-not-found' | 'incident-alert-not-found' | 'public-text-refused' | 'incident-scope-not-found';

export class IncidentError extends AppError<IncidentErrorCode> {}

export const invalid = (message: string): IncidentError => new IncidentError('incident-invalid', message, { status: 400, expose: true });
export const notFound = (): IncidentError => new IncidentError('incident-not-found', 'No such incident, or it does not concern you.', { status: 404, expose: true });
