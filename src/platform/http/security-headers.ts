import type { FastifyInstance } from 'fastify';

/**
 * Headers on every response. An API that serves health data must not be cached by browsers or
 * proxies (OWASP ASVS 5 V14.3.2), framed, sniffed or used as a script source.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { hsts: string | undefined }): void {
  const { hsts } = options;
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    // Public documents (discovery, style sheets) say so themselves; everything else is no-store.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    // Pages that render HTML (the OAuth sign-in) set their own, still script-free, policy.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    // RFC 6797: HSTS only means something on a secure transport.
    if (hsts !== undefined) reply.header('strict-transport-security', hsts);
    return payload;
  });
}

/**
 * The Strict-Transport-Security value for a server that speaks TLS itself; undefined without TLS
 * (RFC 6797 §7.2: not sent over plain HTTP, where it would mean nothing).
 */
export function hstsHeader(tlsEnabled: boolean, maxAgeSeconds: number): string | undefined {
  return tlsEnabled ? `max-age=${maxAgeSeconds}; includeSubDomains` : undefined;
}

/** Discovery documents and published keys: cacheable by anyone, briefly, so a rotated key or a changed endpoint reaches clients within minutes. */
export const publicDocumentCacheControl = 'public, max-age=300';
