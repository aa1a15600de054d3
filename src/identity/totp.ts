import { createHash, randomBytes } from 'node:crypto';
import type * as Otplib from 'otplib';
import type * as Uqr from 'uqr';
import { constantTimeEqual } from '../platform/constant-time-equal.js';

/**
 * Second factors that live in the account: TOTP (RFC 6238 via otplib: SHA-1, 6 digits, 30 s, as
 * every authenticator app expects) and single-use recovery codes.
 *
 * - Secrets come from node:crypto's CSPRNG, 160 bits (RFC 4226 §4 R6; ASVS 5 V6.5.3).
 * - A code is accepted one step either side of the server's own clock (ASVS 5 V6.5.5, V6.5.8:
 *   never a client-supplied time), and each time step only once: the caller stores the
 *   accepted step and passes it back as `after` (ASVS 5 V6.5.1).
 */

export const totpPeriodSeconds = 30;

// otplib and the QR encoder load at the first second-factor operation, not with every command.
let libraries: Promise<[typeof Otplib, typeof Uqr]> | undefined;
const loadLibraries = () => (libraries ??= Promise.all([import('otplib'), import('uqr')]));
const digits = 6;

/** RFC 4648 base32 without padding, as otpauth URIs and authenticator apps take secrets. */
export function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export const newTotpSecret = (): Buffer => randomBytes(20);

export interface TotpEnrolment {
  /** Base32, for typing into an app by hand. */
  readonly secret: string;
  /** `otpauth://totp/…` (Key Uri Format), for apps that take a link. */
  readonly uri: string;
  /** The URI as a QR code, an SVG document (no script, no external references). */
  readonly qrSvg: string;
}

export async function totpEnrolment(secret: Uint8Array, issuer: string, account: string): Promise<TotpEnrolment> {
  const [{ generateURI }, { renderSVG }] = await loadLibraries();
  const encoded = base32(secret);
  const uri = generateURI({ issuer, label: account, secret: encoded, algorithm: 'sha1', digits, period: totpPeriodSeconds });
  return { secret: encoded, uri, qrSvg: renderSVG(uri) };
}

/** The code for a moment (tests, and authenticator emulation in flows). */
export async function totpCode(secret: Uint8Array, atMs: number, options: { digits?: 6 | 7 | 8; algorithm?: 'sha1' | 'sha256' | 'sha512' } = {}): Promise<string> {
  const [{ generate }] = await loadLibraries();
  return generate({ secret, epoch: Math.floor(atMs / 1000), period: totpPeriodSeconds, digits: options.digits ?? digits, algorithm: options.algorithm ?? 'sha1' });
}

/**
 * Checks a code against the server clock `atMs`, one step of drift either way, refusing any
 * step at or before `after` (the last step this account used). Returns the accepted step to
 * store, or undefined.
 */
export async function verifyTotp(secret: Uint8Array, code: string, atMs: number, after?: number): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const [{ verify }] = await loadLibraries();
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(atMs / 1000),
    period: totpPeriodSeconds,
    digits,
    algorithm: 'sha1',
    epochTolerance: totpPeriodSeconds,
    ...(after === undefined ? {} : { afterTimeStep: after }),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/**
 * Ten recovery codes of 120 bits each, grouped for reading (`xxxx-xxxx-…`), shown once. With
 * at least 112 bits a plain SHA-256 may store them (ASVS 5 V6.5.2); each works once.
 */
export function newRecoveryCodes(count = 10): { readonly codes: string[]; readonly hashes: string[] } {
  const codes = Array.from({ length: count }, () =>
    base32(randomBytes(15))
      .toLowerCase()
      .replace(/(.{4})(?=.)/g, '$1-'),
  );
  return { codes, hashes: codes.map(recoveryCodeHash) };
}

/** Case, spaces and dashes as typed do not matter. */
export const recoveryCodeHash = (code: string): string =>
  createHash('sha256')
    .update(code.toLowerCase().replace(/[^a-z2-7]/g, ''), 'utf8')
    .digest('hex');

/** The index of the stored hash the code matches, comparing against every one in constant time; -1 when none. */
export function matchRecoveryCode(hashes: readonly (string | null)[], code: string): number {
  const candidate = Buffer.from(recoveryCodeHash(code), 'hex');
  let found = -1;
  hashes.forEach((stored, index) => {
    if (stored !== null && constantTimeEqual(Buffer.from(stored, 'hex'), candidate) && found === -1) found = index;
  });
  return found;
}
