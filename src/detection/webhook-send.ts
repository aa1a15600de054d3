import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isPublicAddress } from './webhook-address.js';

/** What one POST came to: the status, or why there was none; never the response body. */
export interface SendOutcome {
  readonly status?: number;
  readonly error?: 'timeout' | 'refused-address' | 'connection' | 'tls';
  readonly durationMs: number;
}

export type WebhookSend = (url: string, body: string, headers: Record<string, string>) => Promise<SendOutcome>;

const sendDefaults = { timeoutMs: 5000, userAgent: 'Tresor-Webhooks/1' };

class RefusedAddress extends Error {}

/**
 * The address check sits in the connection's own DNS lookup (OWASP ASVS 5 V1.3.6): every
 * address the name resolves to must be public, and the connection goes to the address checked,
 * so a DNS answer that changes between a check and the connect (rebinding) cannot slip through.
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const list = Array.isArray(addresses) ? addresses : [];
    if (list.length === 0 || list.some((a) => !isPublicAddress(a.address))) return callback(new RefusedAddress(`${hostname} resolves to an address webhooks may not reach`), '', 0);
    if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

/**
 * POSTs a webhook: 5 s for the whole exchange, no redirect followed (Node's client never
 * follows one; a 3xx is an answer that is not a 2xx), the response body discarded unread. In
 * production only public addresses are reached, checked on every delivery.
 */
export function createWebhookSend(options: { production: boolean; timeoutMs?: number }): WebhookSend {
  const timeoutMs = options.timeoutMs ?? sendDefaults.timeoutMs;
  return (raw, body, headers) =>
    new Promise<SendOutcome>((resolve) => {
      const started = performance.now();
      const done = (outcome: Omit<SendOutcome, 'durationMs'>) => resolve({ ...outcome, durationMs: Math.round(performance.now() - started) });
      const url = new URL(raw);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (options.production && /^[\d.]+$|:/.test(host) && !isPublicAddress(host)) return done({ error: 'refused-address' });
      const requestOptions: RequestOptions = {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': sendDefaults.userAgent },
        signal: AbortSignal.timeout(timeoutMs),
        agent: false,
        ...(options.production ? { lookup: publicOnlyLookup } : {}),
      };
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, requestOptions, (response) => {
        // The answer's status is all we keep: the body could hold anything, so it is not read.
        const status = response.statusCode ?? 0;
        response.destroy();
        done({ status });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof RefusedAddress || error.cause instanceof RefusedAddress) return done({ error: 'refused-address' });
        if (error.name === 'AbortError' || error.name === 'TimeoutError') return done({ error: 'timeout' });
        if (/CERT|SSL|TLS/i.test(error.code ?? '')) return done({ error: 'tls' });
        done({ error: 'connection' });
      });
      request.end(body);
    });
}
