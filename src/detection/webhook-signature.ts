import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../platform/constant-time-equal.js';

/**
 * Webhook signatures, the pattern of Stripe's and the Standard Webhooks specification
 * (standardwebhooks.com): an HMAC-SHA-256 (RFC 2104, FIPS 198-1) with the endpoint's secret
 * over `<unix seconds>.<body>`, sent as `Tresor-Timestamp: <seconds>` and
 * `Tresor-Signature: v1=<hex>`. The timestamp inside the MAC lets a receiver refuse a captured
 * request replayed later (outside its window); the `v1=` label leaves room for another scheme.
 */
export const signatureHeader = 'tresor-signature';
export const timestampHeader = 'tresor-timestamp';
export const deliveryHeader = 'tresor-delivery';
/** How far a receiver should accept a timestamp from its own clock, either way. */
export const replayWindowSeconds = 300;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * What a receiver runs (docs/alerting-webhooks.md has it as a snippet): true when one of the
 * `v1=` signatures is the HMAC of `<timestamp>.<body>` under the secret, compared in constant
 * time (CWE-208), and the timestamp is within `windowSeconds` of `nowSeconds`. `body` is the
 * raw request body as received, before any JSON parsing.
 */
export function verifyWebhook(input: { secret: string; body: string; timestamp: string | undefined; signature: string | undefined; nowSeconds?: number; windowSeconds?: number }): boolean {
  const { secret, body, timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (input.windowSeconds ?? replayWindowSeconds)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex'), 'utf8');
  let ok = false;
  for (const part of signature.split(/[ ,]+/)) {
    if (!part.startsWith('v1=')) continue;
    if (constantTimeEqual(Buffer.from(part.slice(3), 'utf8'), expected)) ok = true;
  }
  return ok;
}
