import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base32, matchRecoveryCode, newRecoveryCodes, newTotpSecret, totpCode, totpEnrolment, verifyTotp } from './totp.js';

// RFC 6238 Appendix B: the seeds are the ASCII digits, repeated to the hash's block size.
const seed = (length: number) => Buffer.from('1234567890'.repeat(7).slice(0, length), 'ascii');
const vectors: Array<[seconds: number, sha1: string, sha256: string, sha512: string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP and recovery codes (RFC 6238, OWASP ASVS 5 V6.5)', () => {
  it('matches every RFC 6238 Appendix B test vector (SHA-1, SHA-256, SHA-512, 8 digits)', async () => {
    for (const [seconds, sha1, sha256, sha512] of vectors) {
      assert.equal(await totpCode(seed(20), seconds * 1000, { digits: 8, algorithm: 'sha1' }), sha1, `SHA-1 at ${seconds}`);
      assert.equal(await totpCode(seed(32), seconds * 1000, { digits: 8, algorithm: 'sha256' }), sha256, `SHA-256 at ${seconds}`);
      assert.equal(await totpCode(seed(64), seconds * 1000, { digits: 8, algorithm: 'sha512' }), sha512, `SHA-512 at ${seconds}`);
    }
  });

  it('V6.5.5 / V6.5.8: accepts a code one 30-second step either side of the server clock, not two', async () => {
    const secret = newTotpSecret();
    const now = Date.UTC(2026, 10, 23, 12, 0, 15);
    const step = 30_000;
    for (const [offset, accepted] of [
      [0, true],
      [-step, true],
      [step, true],
      [-2 * step, false],
      [2 * step, false],
    ] as const) {
      const code = await totpCode(secret, now + offset);
      assert.equal((await verifyTotp(secret, code, now)) !== undefined, accepted, `code from ${offset / 1000} s`);
    }
    assert.equal(await verifyTotp(secret, 'abcdef', now), undefined);
    assert.equal(await verifyTotp(secret, '1234567', now), undefined);
  });

  it('V6.5.1: each code works once — the accepted time step is refused afterwards, and so is an older one', async () => {
    const secret = newTotpSecret();
    const now = Date.UTC(2026, 10, 23, 12, 0, 15);
    const code = await totpCode(secret, now);
    const used = await verifyTotp(secret, code, now);
    assert.equal(typeof used, 'number');
    assert.equal(await verifyTotp(secret, code, now + 5000, used), undefined, 'replayed within its step');
    assert.equal(await verifyTotp(secret, await totpCode(secret, now - 30_000), now, used), undefined, 'the previous step, after this one was used');
    assert.equal(await verifyTotp(secret, await totpCode(secret, now + 30_000), now + 30_000, used), (used as number) + 1, 'the next step works');
  });

  it('V6.5.3: 160-bit secrets from the CSPRNG, offered as base32, an otpauth URI and a QR code in SVG', async () => {
    const secret = newTotpSecret();
    assert.equal(secret.length, 20);
    assert.notDeepEqual(secret, newTotpSecret());
    assert.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI', 'RFC 4648 §10');
    const enrolment = await totpEnrolment(secret, 'Tresor (nordklinik)', 'alexandra@nordklinik.example');
    assert.equal(enrolment.secret, base32(secret));
    assert.match(enrolment.uri, /^otpauth:\/\/totp\/.+\?.*secret=[A-Z2-7]{32}/);
    assert.match(enrolment.uri, /issuer=Tresor/);
    assert.match(enrolment.qrSvg, /^<svg[^>]*>[\s\S]*<\/svg>$/);
    assert.doesNotMatch(enrolment.qrSvg, /<script|href=/, 'nothing active inside');
  });

  it('V6.5.2 / V6.5.4: ten recovery codes of 120 bits, stored as SHA-256 only, each matched whatever the typing', () => {
    const { codes, hashes } = newRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^([a-z2-7]{4}-){5}[a-z2-7]{4}$/, '24 base32 characters = 120 bits');
    for (const hash of hashes) assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(!hashes.some((h) => codes.some((c) => h.includes(c.replace(/-/g, '')))), 'the codes themselves are not stored');
    const third = codes[2] as string;
    assert.equal(matchRecoveryCode(hashes, third), 2);
    assert.equal(matchRecoveryCode(hashes, ` ${third.toUpperCase().replace(/-/g, ' ')} `), 2, 'case and separators as typed do not matter');
    assert.equal(matchRecoveryCode(hashes, 'aaaa-aaaa-aaaa-aaaa-aaaa-aaaa'), -1);
    // Used once: the caller clears the slot, and the same code then matches nothing.
    const used = hashes.map((h, i) => (i === 2 ? null : h));
    assert.equal(matchRecoveryCode(used, third), -1);
  });
});
