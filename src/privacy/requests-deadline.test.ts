import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addCalendarMonths, daysLeft, firstDueAt, requestStageAt } from './requests-deadline.js';

const at = (iso: string) => Date.parse(iso);

describe('the deadline of a data subject request', () => {
  it('is one calendar month after receipt, on the same day or the month’s last', () => {
    assert.equal(new Date(firstDueAt(at('2026-03-15T10:30:00Z'))).toISOString(), '2026-04-15T10:30:00.000Z');
    assert.equal(new Date(firstDueAt(at('2026-01-31T08:00:00Z'))).toISOString(), '2026-02-28T08:00:00.000Z');
    assert.equal(new Date(firstDueAt(at('2028-01-31T08:00:00Z'))).toISOString(), '2028-02-29T08:00:00.000Z');
    assert.equal(new Date(firstDueAt(at('2026-12-20T00:00:00Z'))).toISOString(), '2027-01-20T00:00:00.000Z');
  });

  it('extends by whole calendar months from the first due date', () => {
    assert.equal(new Date(addCalendarMonths(at('2026-02-28T08:00:00Z'), 2)).toISOString(), '2026-04-28T08:00:00.000Z');
    assert.throws(() => addCalendarMonths(0, 1.5), TypeError);
  });

  it('raises at two thirds of the time and once overdue, nothing before', () => {
    const received = at('2026-03-01T00:00:00Z');
    const due = firstDueAt(received);
    const third = (due - received) / 3;
    assert.equal(requestStageAt(received, due, received + 2 * third - 1), undefined);
    assert.equal(requestStageAt(received, due, received + 2 * third), 'two-thirds');
    assert.equal(requestStageAt(received, due, due), 'two-thirds');
    assert.equal(requestStageAt(received, due, due + 1), 'overdue');
  });

  it('counts days left, rounded up, and days late', () => {
    const day = 86_400_000;
    assert.equal(daysLeft(10 * day, 0), 10);
    assert.equal(daysLeft(10 * day, 1), 10);
    assert.equal(daysLeft(10 * day, 10 * day), 0);
    assert.equal(daysLeft(10 * day, 10 * day + 1), -1);
    assert.equal(daysLeft(10 * day, 12 * day + 5), -2);
  });
});
