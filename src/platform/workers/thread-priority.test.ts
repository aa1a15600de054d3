import assert from 'node:assert/strict';
import { test } from 'node:test';
import { niceOfThread } from './thread-priority.js';

test('the nice value is read past a command name with spaces and parentheses', () => {
  const stat = '1234 (tresor (detect) x) S 1 1234 1234 0 -1 4194624 100 0 0 0 5 2 0 0 30 10 3 0 100 0 0';
  assert.equal(niceOfThread(1234, () => stat), 10);
  assert.equal(niceOfThread(1234, () => { throw new Error('gone'); }), undefined);
});
