import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two byte strings without leaking, through timing, where they first differ.
 * OWASP ASVS 5 V11.5.x / CWE-208. Unequal lengths return false at once: callers compare
 * fixed-length digests, so the length is not a secret.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
