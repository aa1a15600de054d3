import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseItemChange } from './assessment-routes.js';
import { NotificationError } from './errors.js';

const refused = (body: Record<string, unknown>) => assert.throws(() => parseItemChange(body), (error) => error instanceof NotificationError && error.code === 'assessment-invalid');

describe('an item change as the API reads it', () => {
  it('an answer with its reason; null goes back to the computed one', () => {
    assert.deepEqual(parseItemChange({ answer: 'no', reason: 'risk assessment' }), { answer: 'no', reason: 'risk assessment' });
    assert.deepEqual(parseItemChange({ answer: null, reason: 'computed was right' }), { answer: null, reason: 'computed was right' });
  });

  it('done with how and an optional time; null undoes it', () => {
    assert.deepEqual(parseItemChange({ done: { how: 'online form' } }), { done: { how: 'online form' } });
    assert.deepEqual(parseItemChange({ done: { how: 'letter', at: '2026-03-03T10:00:00Z' } }), { done: { how: 'letter', at: Date.parse('2026-03-03T10:00:00Z') } });
    assert.deepEqual(parseItemChange({ done: null }), { done: null });
  });

  it('refuses an unknown answer, a reason without an answer, a done that is not an object, a time that is not one', () => {
    refused({ answer: 'maybe', reason: 'x' });
    refused({ reason: 'x' });
    refused({ done: 'yes' });
    refused({ done: { how: 'x', at: 'tomorrow' } });
    refused({ done: { how: 42 } });
  });
});
