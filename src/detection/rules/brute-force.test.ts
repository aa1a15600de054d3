import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { bruteForce } from './brute-force.js';

const alice = 'Account/usr_alice';
const failure = (seq: number, extra: Partial<Parameters<typeof auditEvent>[0]> = {}) => auditEvent({ seq, resources: [alice], actor: { id: 'account:usr_alice', role: 'clinician', client: 'tresor-auth' }, ...extra });

describe('auth.brute-force', () => {
  it('raises once the failures against one account reach the threshold, password, second factor and throttled alike', () => {
    const events = [
      ...Array.from({ length: 4 }, (_, i) => failure(i + 1)),
      failure(5, { action: 'auth.mfa_failed' }),
      failure(6, { action: 'auth.login_throttled', status: 429, detail: 'password delay' }),
    ];
    const { findings } = runRule(bruteForce, events, { failures: 6 });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.subject, alice);
    assert.deepEqual(findings[0]?.evidence, [1, 2, 3, 4, 5, 6]);
    assert.match(findings[0]?.summary ?? '', /6 failed sign-ins against Account\/usr_alice within 15 minutes/);
  });

  it('does not raise below the threshold, nor for failures spread over accounts, nor for unknown addresses', () => {
    const spread = Array.from({ length: 20 }, (_, i) => auditEvent({ seq: i + 1, resources: [`Account/usr_${i}`] }));
    const unknown = Array.from({ length: 20 }, (_, i) => auditEvent({ seq: 100 + i, detail: 'unknown-account:00112233aabbccdd' }));
    assert.equal(runRule(bruteForce, [...Array.from({ length: 9 }, (_, i) => failure(200 + i)), ...spread, ...unknown]).findings.length, 0);
  });

  it('starts a fresh count when the window ends', () => {
    const early = Array.from({ length: 9 }, (_, i) => failure(i + 1));
    const late = Array.from({ length: 9 }, (_, i) => failure(i + 1, { seq: 100 + i, at: Date.parse('2026-03-02T09:16:00Z') + i }));
    const { findings, states } = runRule(bruteForce, [...early, ...late]);
    assert.equal(findings.length, 0, '9 + 9 in two windows is not 10 in one');
    assert.equal(states.get(alice)?.count, 9);
  });

  it('joins every further failure in the window to the alert, and its state stays bounded under a flood', () => {
    const { findings, states } = runRule(bruteForce, Array.from({ length: 5000 }, (_, i) => failure(i + 1, { at: Date.parse('2026-03-02T09:00:00Z') + i })));
    assert.equal(findings.length, 5000 - 9);
    assert.equal(findings[1]?.evidence.length, 1);
    assert.ok(JSON.stringify(states.get(alice)).length < 400);
  });

  it('counts nothing for a failure that names no account, even at a threshold of one', () => {
    const { findings } = runRule(bruteForce, [auditEvent({ seq: 1, resources: [], detail: 'unknown-account:00112233aabbccdd' })], { failures: 1 });
    assert.equal(findings.length, 0);
    assert.equal(runRule(bruteForce, [failure(2)], { failures: 1 }).findings.length, 1);
  });
});
