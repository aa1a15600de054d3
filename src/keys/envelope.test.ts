import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { open, seal } from './envelope.js';

describe('AES-256-GCM envelope', () => {
  const key = randomBytes(32);
  it('round-trips and never repeats a ciphertext', () => {
    const a = seal(key, Buffer.from('Müller'), 'aad');
    const b = seal(key, Buffer.from('Müller'), 'aad');
    assert.notDeepEqual(a, b, 'fresh IV per message');
    assert.equal(open(key, a, 'aad').toString(), 'Müller');
  });
  it('never reuses an IV, across refills of the IV pool', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 3000; i += 1) ivs.add(seal(key, Buffer.from('x'), 'aad').subarray(0, 12).toString('hex'));
    assert.equal(ivs.size, 3000);
  });
  it('fails closed on a flipped bit, another AAD, another key, or truncation', () => {
    const sealed = seal(key, Buffer.from('value'), 'tenant|Patient|1|name');
    for (let i = 0; i < sealed.length; i += 7) {
      const flipped = Buffer.from(sealed);
      flipped[i] = (flipped[i] as number) ^ 0x01;
      assert.throws(() => open(key, flipped, 'tenant|Patient|1|name'), (e: { code?: string }) => e.code === 'integrity-failed');
    }
    assert.throws(() => open(key, sealed, 'tenant|Patient|2|name'), (e: { code?: string }) => e.code === 'integrity-failed');
    assert.throws(() => open(randomBytes(32), sealed, 'tenant|Patient|1|name'), (e: { code?: string }) => e.code === 'integrity-failed');
    assert.throws(() => open(key, sealed.subarray(0, 20), 'tenant|Patient|1|name'), (e: { code?: string }) => e.code === 'integrity-failed');
  });
});
