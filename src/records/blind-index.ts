import { createHmac } from 'node:crypto';

/**
 * Keyed blind index (HMAC-SHA-256 under the tenant's index key, truncated to 128 bits): equal
 * inputs give equal digests, so exact-match search works, but the digest reveals nothing about
 * the value to someone without the key. The parameter name is part of the input, so the same
 * value under two parameters does not match across them. What this leaks is in docs/security.md.
 */
export function blindIndex(indexKey: Uint8Array, param: string, value: string): string {
  return createHmac('sha256', indexKey).update(`${param}\u0000${value}`, 'utf8').digest().subarray(0, 16).toString('base64url');
}
