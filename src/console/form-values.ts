import type { FastifyRequest } from 'fastify';

/** A form field's text, trimmed ('' when absent or not text). */
export function formText(request: FastifyRequest, name: string): string {
  const value = (request.body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * An ISO 8601 date-time with its zone (`2026-01-31T12:00:00Z`, `…+01:00`) as ms since the epoch;
 * anything else is the `invalid` error of the page's module: a time without a zone would be read
 * in the server's zone, not the person's.
 */
export function isoDateTime(value: string, name: string, invalid: (message: string) => Error): number {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw invalid(`${name}: an ISO 8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z`);
  return at;
}
