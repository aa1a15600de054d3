import type { FastifyError, FastifyReply } from 'fastify';
import { AppError, isAppError } from '../errors.js';

/** The errors the HTTP layer itself raises (framework failures, routing, platform routes). */
export type HttpErrorCode =
  | 'not-found'
  | 'forbidden'
  | 'internal'
  | 'request-invalid'
  | 'request-aborted'
  | 'body-invalid'
  | 'body-too-large'
  | 'media-type-unsupported'
  | 'storage-unavailable'
  | 'metrics-unavailable';

export class HttpError extends AppError<HttpErrorCode> {}

/** RFC 9457 problem details: the error shape of every non-FHIR surface. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  readonly errors?: ReadonlyArray<{ pointer?: string; detail: string }>;
}

export function toProblem(error: AppError): Problem {
  return {
    type: `https://tresor.dev/problems/${error.code}`,
    title: error.expose ? error.message : 'Internal error',
    status: error.status,
    code: error.code,
    ...(error.issues.length > 0 ? { errors: error.issues.map((i) => ({ ...(i.expression === undefined ? {} : { pointer: i.expression }), detail: i.diagnostics })) } : {}),
  };
}

/**
 * Maps Fastify's own errors (body parsing, limits, routing) to AppErrors with stable codes, so
 * every surface answers them in its shape. Their messages are not reused: a JSON parse error
 * quotes the body it failed on.
 */
export function fromFrameworkError(error: unknown, accepts = 'application/json'): AppError {
  if (isAppError(error)) return error;
  const e = error as Partial<FastifyError>;
  switch (e.code ?? '') {
    // The client closed the connection before its body was complete (Node's IncomingMessage
    // 'aborted'): nothing was read or changed, and no one is left to answer.
    case 'ECONNRESET':
      return new HttpError('request-aborted', 'The request body was cut off.', { status: 400, cause: error });
    case 'FST_ERR_BAD_URL':
      return new HttpError('request-invalid', 'The URL is not validly percent-encoded.', { status: 400, cause: error });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('body-too-large', 'The request body exceeds the configured limit.', { status: 413, cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new HttpError('media-type-unsupported', `Unsupported Content-Type; send ${accepts}.`, { status: 415, cause: error });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('body-invalid', 'The request body does not match its Content-Length.', { status: 400, cause: error });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError('body-invalid', 'The request body is empty.', { status: 400, cause: error });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError('body-invalid', 'The request body is not valid JSON.', { status: 400, cause: error });
    default:
      break;
  }
  if (error instanceof SyntaxError || (e.statusCode === 400 && typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP'))) {
    return new HttpError('body-invalid', 'The request body is not valid JSON.', { status: 400, cause: error });
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError('request-invalid', 'The request could not be processed.', { status: e.statusCode, cause: error });
  }
  return new HttpError('internal', 'Internal error.', { status: 500, cause: error });
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.status(error.status).type('application/problem+json').send(JSON.stringify(toProblem(error)));
}
