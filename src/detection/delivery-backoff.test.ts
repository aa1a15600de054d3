import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextAttemptAt } from './delivery-backoff.js';

describe('delivery backoff', () => {
  const webhook = { firstMs: 30_000, maxMs: 6 * 3_600_000, giveUpMs: 24 * 3_600_000, jitter: 0.2 };

  it('doubles from 30 s, capped at 6 h, without jitter at the midpoint', () => {
    const waits = [1, 2, 3, 4, 10, 11, 30].map((n) => (nextAttemptAt(webhook, n, 0, 0, 0.5) as number));
    assert.deepEqual(waits, [30_000, 60_000, 120_000, 240_000, 15_360_000, 6 * 3_600_000, 6 * 3_600_000]);
  });

  it('spreads each wait by ±20 %', () => {
    assert.equal(nextAttemptAt(webhook, 1, 0, 0, 0), 24_000);
    assert.equal(nextAttemptAt(webhook, 1, 0, 0, 0.999_999), 36_000);
  });

  it('gives up once the next try would be more than 24 h after the change', () => {
    const created = 0;
    assert.equal(nextAttemptAt(webhook, 12, 17 * 3_600_000, created, 0.5), 23 * 3_600_000);
    assert.equal(nextAttemptAt(webhook, 13, 23 * 3_600_000, created, 0.5), undefined);
  });
});
