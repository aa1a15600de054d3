import { AppError } from '../platform/errors.js';

export type RequestErrorCode = 'request-invalid' | 'request-not-found' | 'request-state-conflict' | 'request-extension-refused' | 'request-forbidden' | 'request-fulfil-unavailable';

/** The errors of data subjects' requests; callers switch on `code` (problem+json on the API, a message on the pages). */
export class RequestError extends AppError<RequestErrorCode> {}

export const invalidRequest = (message: string): RequestError => new RequestError('request-invalid', message, { status: 400, expose: true });
/** One answer for "no such request" and "not yours": a patient learns nothing of others' requests. */
export const requestNotFound = (): RequestError => new RequestError('request-not-found', 'No such request, or it is not yours.', { status: 404, expose: true });
export const stateConflict = (message: string): RequestError => new RequestError('request-state-conflict', message, { status: 409, expose: true });
