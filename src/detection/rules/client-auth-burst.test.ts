import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { clientAuthBurst } from './client-auth-burst.js';

const failed = (seq: number, detail = 'api_key', sourceIp = '203.0.113.7') =>
  auditEvent({ seq, action: 'auth.credential_failed', actor: { id: 'anonymous', role: 'none', client: '' }, detail, sourceIp });

describe('auth.client-auth-burst', () => {
  it('raises when failed key, token and client-secret authentications from one address reach the threshold', () => {
    const events = Array.from({ length: 20 }, (_, i) => failed(i + 1, ['api_key', 'access_token', 'client_secret'][i % 3]));
    const { findings } = runRule(clientAuthBurst, events);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.subject, '203.0.113.7');
    assert.match(findings[0]?.summary ?? '', /20 failed client authentications \(api_key, access_token, client_secret\) from 203\.0\.113\.7 within 10 minutes/);
  });

  it('does not raise for a few failures, nor for failures spread over addresses', () => {
    const few = Array.from({ length: 19 }, (_, i) => failed(i + 1));
    const spread = Array.from({ length: 100 }, (_, i) => failed(100 + i, 'api_key', `198.51.100.${i}`));
    assert.equal(runRule(clientAuthBurst, [...few, ...spread]).findings.length, 0);
  });

  it('starts over when the window ends: a revoked key retried once a minute stays quiet', () => {
    const retries = Array.from({ length: 120 }, (_, i) => ({ ...failed(i + 1), at: Date.parse('2026-03-02T09:00:00Z') + i * 60_000 }));
    assert.equal(runRule(clientAuthBurst, retries).findings.length, 0);
  });

  it('keeps its state bounded', () => {
    const { states } = runRule(clientAuthBurst, Array.from({ length: 10_000 }, (_, i) => ({ ...failed(i + 1, `method-${i}`), at: Date.parse('2026-03-02T09:00:00Z') + i })));
    assert.ok(JSON.stringify(states.get('203.0.113.7')).length < 400);
  });
});
