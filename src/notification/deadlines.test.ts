import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countdown, spanText, stageAt } from './deadlines.js';

const h = 3_600_000;

describe('deadline stages', () => {
  it('fires at two thirds (48 h of 72 h), at 90 % and past the deadline; nothing before', () => {
    assert.equal(stageAt(0, 72 * h, 47 * h + 59 * 60_000), undefined);
    assert.equal(stageAt(0, 72 * h, 48 * h), 'two-thirds');
    assert.equal(stageAt(0, 72 * h, 64.8 * h - 1), 'two-thirds');
    assert.equal(stageAt(0, 72 * h, 64.8 * h), 'ninety');
    assert.equal(stageAt(0, 72 * h, 72 * h), 'ninety');
    assert.equal(stageAt(0, 72 * h, 72 * h + 1), 'overdue');
  });

  it('counts from awareness, not from zero', () => {
    const aware = Date.parse('2026-03-01T00:00:00Z');
    assert.equal(stageAt(aware, aware + 60 * 24 * h, aware + 39 * 24 * h), undefined);
    assert.equal(stageAt(aware, aware + 60 * 24 * h, aware + 40 * 24 * h), 'two-thirds');
  });

  it('writes countdowns in English and German', () => {
    assert.equal(spanText(23 * h + 40 * 60_000 + 59_999), '23 h 40 min');
    assert.equal(spanText(3 * 24 * h + 4 * h), '76 h');
    assert.equal(spanText(5 * 24 * h + 4 * h), '5 d 4 h');
    assert.equal(spanText(12 * 60_000), '12 min');
    assert.equal(countdown(10 * h, 0), 'due in 10 h');
    assert.equal(countdown(0, 2 * h), 'overdue by 2 h');
    assert.equal(countdown(0, 2 * h, 'de'), 'überfällig seit 2 h');
  });
});
