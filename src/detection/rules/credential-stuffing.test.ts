import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { credentialStuffing } from './credential-stuffing.js';

const base = Date.parse('2026-03-02T09:00:00Z');
// The n-th attempt of a botnet: a new address every time, one of 25 accounts, seconds apart.
const botnet = (seq: number) => auditEvent({ seq, at: base + seq * 10_000, sourceIp: `198.51.100.${seq % 250}`, resources: [`Account/usr_${seq % 25}`] });
const success = (seq: number) => auditEvent({ seq, at: base + seq * 10_000, action: 'auth.login_succeeded', outcome: 'success', status: 200, sourceIp: '203.0.113.7', resources: ['Account/usr_ok'] });

describe('auth.credential-stuffing', () => {
  it('raises once across the realm when failures from many addresses at many accounts pile up with almost no success', () => {
    const events = [success(1), ...Array.from({ length: 45 }, (_, i) => botnet(i + 2))];
    const { findings } = runRule(credentialStuffing, events);
    assert.equal(findings[0]?.subject, 'realm:clinic');
    assert.equal(findings[0]?.evidence.length, 20, 'the window\'s first events, bounded');
    assert.match(findings[0]?.summary ?? '', /40 failed sign-ins from 40 addresses against 25 accounts within 60 minutes, 1 succeeded/);
    assert.equal(findings.length, 6, 'the crossing, then one per further failure (the alert counts them)');
    assert.deepEqual(findings[1]?.evidence, [42]);
  });

  it('does not raise when most sign-ins succeed (a busy morning with typos)', () => {
    const events = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? botnet(i + 1) : success(i + 1)));
    assert.equal(runRule(credentialStuffing, events).findings.length, 0);
  });

  it('does not raise for many failures from one address (that is spraying) or at one account (brute force)', () => {
    const oneSource = Array.from({ length: 60 }, (_, i) => ({ ...botnet(i + 1), sourceIp: '203.0.113.9' }));
    const oneAccount = Array.from({ length: 60 }, (_, i) => ({ ...botnet(i + 100), resources: ['Account/usr_x'] }));
    assert.equal(runRule(credentialStuffing, oneSource).findings.length, 0);
    assert.equal(runRule(credentialStuffing, oneAccount).findings.length, 0);
  });

  it('starts over when the window ends', () => {
    const slow = Array.from({ length: 80 }, (_, i) => ({ ...botnet(i + 1), at: base + i * 120_000 }));
    assert.equal(runRule(credentialStuffing, slow).findings.length, 0, 'two failures an hour apart never meet in one window');
  });

  it('keeps its state bounded under a flood', () => {
    const flood = Array.from({ length: 50_000 }, (_, i) => ({ ...botnet(i + 1), at: base + i, sourceIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, resources: [`Account/usr_${i}`] }));
    const state = runRule(credentialStuffing, flood).states.get('realm');
    assert.equal(state?.failures, 50_000);
    assert.ok((state?.sources.length ?? 0) <= 200 && (state?.accounts.length ?? 0) <= 200 && (state?.evidence.length ?? 0) <= 20);
  });
});
