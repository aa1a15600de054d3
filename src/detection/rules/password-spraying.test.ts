import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { attemptedAccount } from './attempted-account.js';
import { passwordSpraying } from './password-spraying.js';

const known = (seq: number, n: number, sourceIp = '203.0.113.7') => auditEvent({ seq, sourceIp, resources: [`Account/usr_${n}`] });
const unknown = (seq: number, n: number, sourceIp = '203.0.113.7') => auditEvent({ seq, sourceIp, detail: `unknown-account:${n.toString(16).padStart(16, '0')}` });

describe('auth.password-spraying', () => {
  it('raises when one address fails against enough distinct accounts, unknown addresses counted by their pseudonym', () => {
    const events = [...Array.from({ length: 5 }, (_, i) => known(i + 1, i)), ...Array.from({ length: 5 }, (_, i) => unknown(i + 6, i))];
    const { findings } = runRule(passwordSpraying, events);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.subject, '203.0.113.7');
    assert.equal(findings[0]?.evidence.length, 10);
    assert.match(findings[0]?.summary ?? '', /10 failed sign-ins against 10 accounts from 203\.0\.113\.7/);
  });

  it('counts throttled attempts, which name their target the same way', () => {
    const events = Array.from({ length: 10 }, (_, i) => auditEvent({ seq: i + 1, action: 'auth.login_throttled', status: 429, detail: `password source unknown-account:${i.toString(16).padStart(16, '0')}` }));
    assert.equal(runRule(passwordSpraying, events).findings.length, 1);
  });

  it('does not raise for many failures at a few accounts, nor for many accounts failing from many addresses', () => {
    const typos = Array.from({ length: 40 }, (_, i) => known(i + 1, i % 3));
    const many = Array.from({ length: 40 }, (_, i) => known(100 + i, i, `198.51.100.${i}`));
    assert.equal(runRule(passwordSpraying, [...typos, ...many]).findings.length, 0);
  });

  it('starts over when the window ends', () => {
    const early = Array.from({ length: 9 }, (_, i) => known(i + 1, i));
    const late = auditEvent({ seq: 50, resources: ['Account/usr_late'], at: Date.parse('2026-03-02T09:31:00Z') });
    assert.equal(runRule(passwordSpraying, [...early, late]).findings.length, 0);
  });

  it('keeps its state bounded under a spray of a hundred thousand names', () => {
    const { states } = runRule(passwordSpraying, Array.from({ length: 100_000 }, (_, i) => ({ ...unknown(i + 1, i), at: Date.parse('2026-03-02T09:00:00Z') + i })));
    const state = states.get('203.0.113.7');
    assert.equal(state?.count, 100_000);
    assert.ok((state?.distinct.length ?? 0) <= 200);
  });

  it('never reads the typed address: only an account id or the pseudonym identifies a target', () => {
    assert.equal(attemptedAccount(auditEvent({ seq: 1, detail: 'alice@clinic.example' })), undefined);
    assert.equal(attemptedAccount(auditEvent({ seq: 1, detail: 'password delay unknown-account:0123456789abcdef' })), 'unknown-account:0123456789abcdef');
  });
});
