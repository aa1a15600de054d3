import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePageToken, encodePageToken } from './page-token.js';

describe('page tokens', () => {
  it('carry a time and a tie-breaking id there and back', () => {
    const place = { at: 1_767_225_600_000, key: '019b7c1e-0000-7000-8000-000000000001' };
    assert.deepEqual(decodePageToken(encodePageToken(place)), place);
    assert.deepEqual(decodePageToken(encodePageToken({ at: 5, key: 'clinic/019b7c1e-0000-7000-8000-000000000001' })), { at: 5, key: 'clinic/019b7c1e-0000-7000-8000-000000000001' });
  });

  it('refuse what they did not make: a date, junk, a key with other characters', () => {
    for (const token of ['2026-01-31T12:00:00Z', '', 'a', '!!!!', Buffer.from('x|y').toString('base64url'), Buffer.from('12|a b').toString('base64url')]) assert.equal(decodePageToken(token), undefined, token);
  });
});
