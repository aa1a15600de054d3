import type { FastifyInstance } from 'fastify';

/**
 * One access-log line per request, written by us instead of Fastify's default serializers:
 * the path without its query string (search values are personal data), the route pattern,
 * status and time. Headers (API keys, cookies) and bodies are never logged.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    request.log.info(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, ip: request.ip },
      'request',
    );
  });
}
