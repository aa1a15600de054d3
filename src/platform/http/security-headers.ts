import type { FastifyInstance } from 'fastify';

/**
 * Headers on every response. An API that serves health data must not be cached by browsers or
 * proxies (OWASP ASVS 5 V14.3.2), framed, sniffed or used as a script source.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { hstsMaxAgeSeconds: number | undefined }): void {
  const hsts = options.hstsMaxAgeSeconds === undefined ? undefined : `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains`;
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    // Pages that render HTML (the OAuth sign-in) set their own, still script-free, policy.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    // RFC 6797: HSTS only means something on a secure transport.
    if (hsts !== undefined) reply.header('strict-transport-security', hsts);
    return payload;
  });
}
