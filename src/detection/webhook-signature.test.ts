import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

describe('webhook signatures', () => {
  const secret = 'tresor_whsec_test';
  const body = '{"id":"a","count":2}';
  const now = 1_800_000_000;

  it('signs the timestamp and body with HMAC-SHA-256, as an independent HMAC computes it', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    assert.equal(signWebhook(secret, now, body), `v1=${expected}`);
  });

  it('verifies its own signature within the window', () => {
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now), signature: signWebhook(secret, now, body), nowSeconds: now + 299 }), true);
  });

  it('refuses a changed body, another secret, a moved timestamp, an old timestamp and missing headers', () => {
    const signature = signWebhook(secret, now, body);
    assert.equal(verifyWebhook({ secret, body: body.replace('2', '3'), timestamp: String(now), signature, nowSeconds: now }), false);
    assert.equal(verifyWebhook({ secret: `${secret}x`, body, timestamp: String(now), signature, nowSeconds: now }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now + 1), signature, nowSeconds: now }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now), signature, nowSeconds: now + 301 }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now), signature, nowSeconds: now - 301 }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: undefined, signature, nowSeconds: now }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now), signature: undefined, nowSeconds: now }), false);
    assert.equal(verifyWebhook({ secret, body, timestamp: 'soon', signature, nowSeconds: now }), false);
  });

  it('accepts one matching signature among several (a secret being rolled over)', () => {
    const signature = `v1=${'0'.repeat(64)} ${signWebhook(secret, now, body)}`;
    assert.equal(verifyWebhook({ secret, body, timestamp: String(now), signature, nowSeconds: now }), true);
  });
});
