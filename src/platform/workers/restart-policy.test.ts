import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartDefaults, restartDelay } from './restart-policy.js';

describe('restartDelay', () => {
  const policy = restartDefaults;
  it('starts a process that crashed once at once, then backs off, doubling', () => {
    assert.equal(restartDelay([1_000], 1_000, policy), 0);
    assert.equal(restartDelay([1_000, 2_000], 2_000, policy), 250);
    assert.equal(restartDelay([1_000, 2_000, 3_000], 3_000, policy), 500);
    assert.equal(restartDelay([1_000, 2_000, 3_000, 4_000], 4_000, policy), 1_000);
  });

  it('gives up after maxCrashes within the window, and forgets crashes older than it', () => {
    const five = [1_000, 2_000, 3_000, 4_000, 5_000];
    assert.equal(restartDelay(five, 5_000, policy), undefined);
    assert.equal(restartDelay(five, 64_500, policy), 0, 'one crash left in the window');
    assert.equal(restartDelay([...five, 70_000], 70_000, policy), 0);
  });

  it('never waits longer than maxDelayMs', () => {
    assert.equal(restartDelay([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10, { ...policy, maxCrashes: 100 }), policy.maxDelayMs);
  });
});
