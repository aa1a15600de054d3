import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argon2Minimum, checkNewPassword, createPasswordHasher, maxLength, parametersOf, passwordBlocklist } from './passwords.js';

const refusal = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};
const single = { hasSecondFactor: false } as const;
const withMfa = { hasSecondFactor: true } as const;

describe('passwords (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 5 V6.2)', () => {
  it('V6.2.1: at least 15 characters as the only factor, 8 with a second factor, counted in characters not bytes', () => {
    assert.equal(refusal(() => checkNewPassword('river otter 42', single)), 'password-too-short', '14 characters');
    assert.equal(refusal(() => checkNewPassword('river otter 421', single)), undefined, '15 characters');
    assert.equal(refusal(() => checkNewPassword('Ötter7ß', withMfa)), 'password-too-short', '7 characters');
    assert.equal(refusal(() => checkNewPassword('Ötter7ßx', withMfa)), undefined, '8 characters, more bytes');
    assert.equal(refusal(() => checkNewPassword('🦦🦦🦦🦦🦦🦦🦦🦦', withMfa)), undefined, '8 characters outside the BMP');
  });

  it('V6.2.9: 64 characters and far more are accepted; beyond the bound the reason says so', () => {
    assert.equal(refusal(() => checkNewPassword('a sentence long enough to be remembered but never guessed, really '.repeat(2), single)), undefined);
    assert.equal(refusal(() => checkNewPassword('x'.repeat(maxLength), single)), undefined);
    assert.equal(refusal(() => checkNewPassword('x'.repeat(maxLength + 1), single)), 'password-too-long');
  });

  it('V6.2.5: any composition — all lower case, spaces, any script — with no character-class rules', () => {
    for (const password of ['correct horse battery staple', 'всё будет хорошо завтра', '我的密码很长很长很长很长很长很长', '               x']) {
      assert.equal(refusal(() => checkNewPassword(password, single)), undefined, password);
    }
  });

  it('V6.2.4 / V6.2.12: common and breached passwords are refused, ignoring case, from an offline list of well over 100,000', () => {
    assert.ok(passwordBlocklist().size >= 100_000, `${passwordBlocklist().size} entries`);
    for (const password of ['123456789qwerty', '1QAZ2WSX3EDC4RFV', 'password', 'sonnenschein']) {
      assert.equal(refusal(() => checkNewPassword(password, withMfa)), 'password-common', password);
    }
  });

  it('V6.1.2 / V6.2.11: context words — the email, its parts, names, the tenant — are refused, also with digits around them', () => {
    const context = { email: 'alexandra.lindqvist@nordklinik.example', names: ['Alexandra Lindqvist'], tenant: 'nordklinik' };
    for (const password of ['alexandra.lindqvist@nordklinik.example', 'Alexandra Lindqvist', 'nordklinik2024!', '!!Lindqvist1987']) {
      assert.equal(refusal(() => checkNewPassword(password, { hasSecondFactor: true, context })), 'password-context', password);
    }
    assert.equal(refusal(() => checkNewPassword('lindqvist rows the fjord', { hasSecondFactor: true, context })), undefined, 'a context word inside a longer phrase is fine');
  });

  it('says why, in words, without echoing the password', () => {
    try {
      checkNewPassword('short pass', single);
      assert.fail('refused');
    } catch (error) {
      const e = error as { status: number; message: string };
      assert.equal(e.status, 422);
      assert.match(e.message, /at least 15 characters/);
      assert.doesNotMatch(e.message, /short pass/);
    }
  });
});

describe('password hashing (argon2id, ASVS 5 V11.4.2)', () => {
  const hasher = createPasswordHasher({ ...argon2Minimum, concurrency: 1, maxQueued: 64 });

  it('stores argon2id with at least m=19456 KiB, t=2, p=1 and refuses weaker settings', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    assert.deepEqual(parametersOf(stored), argon2Minimum);
    assert.throws(() => createPasswordHasher({ memoryKiB: 4096, iterations: 2, parallelism: 1, concurrency: 1, maxQueued: 1 }), /below/);
  });

  it('V6.2.8: verifies the password exactly as given — no truncation, no case folding — and NFKC-equal input as equal', async () => {
    const long = `${'a long passphrase '.repeat(8)}end`;
    const stored = await hasher.hash(long);
    assert.deepEqual(await hasher.verify(stored, long), { ok: true, rehash: false });
    assert.equal((await hasher.verify(stored, `${long.slice(0, -1)}E`)).ok, false, 'the last character counts');
    assert.equal((await hasher.verify(stored, long.toUpperCase())).ok, false, 'case counts');
    const fullwidth = await hasher.hash('ｐａｓｓｗｏｒｔ ｍｉｔ ｖｉｅｌｅｎ ｚｅｉｃｈｅｎ');
    assert.equal((await hasher.verify(fullwidth, 'passwort mit vielen zeichen')).ok, true, 'NFKC: the same password typed on another keyboard');
  });

  it('V6.3.8: an unknown account costs the same argon2 work as a wrong password, and fails the same way', async () => {
    const stored = await hasher.hash('the right password for sure');
    const before = hasher.work();
    const wrong = await hasher.verify(stored, 'not the right password at all');
    const afterWrong = hasher.work();
    const unknown = await hasher.verify(undefined, 'not the right password at all');
    const afterUnknown = hasher.work();
    assert.deepEqual(wrong, unknown);
    assert.equal(afterWrong - before, 1);
    assert.equal(afterUnknown - afterWrong, 1);
  });

  it('asks for a rehash when the stored parameters are below today’s', async () => {
    const old = await hasher.hash('a password from last year, still good');
    const stronger = createPasswordHasher({ memoryKiB: 32_768, iterations: 3, parallelism: 1, concurrency: 1, maxQueued: 64 });
    assert.deepEqual(await stronger.verify(old, 'a password from last year, still good'), { ok: true, rehash: true });
    assert.deepEqual(await stronger.verify(old, 'a wrong password, not rehashed'), { ok: false, rehash: false });
  });

  it('runs no more argon2 operations at once than its limit, and refuses beyond its queue with 503', async () => {
    const limited = createPasswordHasher({ ...argon2Minimum, concurrency: 1, maxQueued: 2 });
    const stored = await limited.hash('a password to check many times');
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => limited.verify(stored, 'a password to check many times')));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value.ok : (r.reason as { code: string; status: number }).code)),
      [true, true, true, 'auth-busy'],
      'one running, two waiting, the fourth refused',
    );
  });
});
