import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedId } from './time-ordered-id.js';

describe('timeOrderedId', () => {
  it('is an RFC 9562 version 7 UUID and a valid FHIR id', () => {
    const id = timeOrderedId(Date.UTC(2026, 0, 1));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(id, /^[A-Za-z0-9\-.]{1,64}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), Date.UTC(2026, 0, 1));
  });
  it('sorts by time and differs within one millisecond', () => {
    const a = timeOrderedId(1000);
    const b = timeOrderedId(2000);
    assert.ok(a < b);
    assert.notEqual(timeOrderedId(5), timeOrderedId(5));
  });
});

describe('timeOrderedId randomness', () => {
  it('gives every id its own random bits across refills of its pool', () => {
    const seen = new Set<string>();
    // Several pool lengths over, all in one millisecond: only the random part tells them apart.
    for (let i = 0; i < 5_000; i += 1) seen.add(timeOrderedId(42).replace(/-/g, '').slice(12));
    assert.equal(seen.size, 5_000);
  });
});
