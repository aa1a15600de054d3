import { createHash, randomBytes } from 'node:crypto';

/**
 * A URL-safe secret with `bytes` bytes of CSPRNG entropy (default 256 bits).
 * NIST SP 800-63B-4 §3.2.x asks for at least 112 bits for secrets that stand in for a login;
 * we use 256 so that a fast hash (SHA-256) is enough to store it (OWASP ASVS 5 V11.4).
 */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * How such a secret is stored: SHA-256 is enough for 256 random bits, which cannot be
 * brute-forced (OWASP ASVS 5 V11.4.2 reserves slow password hashes for low-entropy secrets).
 */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
