import type { FastifyInstance } from 'fastify';

/**
 * One access-log line per request, written by us instead of Fastify's default serializers:
 * the path without its query string (search values are personal data), the route pattern,
 * status and time. Headers (API keys, cookies) and bodies are never logged.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    const clientRequestId = clientRequestIdOf(request.headers['x-request-id']);
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        path,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ip: request.ip,
        ...(clientRequestId === undefined ? {} : { clientRequestId }),
      },
      'request',
    );
  });
}

// A client's own correlation id, kept beside ours for tracing across systems: a plain token of
// bounded length, or nothing (no log injection, no unbounded lines).
const safeClientRequestId = /^[A-Za-z0-9._:-]{1,128}$/;
function clientRequestIdOf(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && safeClientRequestId.test(header) ? header : undefined;
}
