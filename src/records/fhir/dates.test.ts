import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDateRange, periodRange } from './dates.js';

describe('parseDateRange', () => {
  it('widens partial dates to their whole period', () => {
    assert.deepEqual(parseDateRange('2020'), { low: Date.UTC(2020, 0, 1), high: Date.UTC(2021, 0, 1) - 1 });
    assert.deepEqual(parseDateRange('2020-02'), { low: Date.UTC(2020, 1, 1), high: Date.UTC(2020, 2, 1) - 1 });
    assert.deepEqual(parseDateRange('2020-02-29'), { low: Date.UTC(2020, 1, 29), high: Date.UTC(2020, 2, 1) - 1 });
  });
  it('applies time zones and precision', () => {
    assert.deepEqual(parseDateRange('2020-01-01T10:00:00+02:00'), { low: Date.UTC(2020, 0, 1, 8), high: Date.UTC(2020, 0, 1, 8) + 999 });
    assert.deepEqual(parseDateRange('2020-01-01T10:00:00.250Z'), { low: Date.UTC(2020, 0, 1, 10, 0, 0, 250), high: Date.UTC(2020, 0, 1, 10, 0, 0, 250) });
    assert.deepEqual(parseDateRange('2020-01-01T10:00Z'), { low: Date.UTC(2020, 0, 1, 10), high: Date.UTC(2020, 0, 1, 10, 1) - 1 });
  });
  it('rejects impossible dates', () => {
    for (const bad of ['2019-02-29', '2020-13', '2020-00-10', '20', '2020-01-01T25:00:00Z', "2020' OR 1=1", '']) {
      assert.equal(parseDateRange(bad), undefined, bad);
    }
  });
  it('keeps periods open at a missing end', () => {
    assert.deepEqual(periodRange('2020', undefined), { low: Date.UTC(2020, 0, 1), high: Number.MAX_SAFE_INTEGER });
    assert.equal(periodRange(undefined, undefined), undefined);
  });
});
