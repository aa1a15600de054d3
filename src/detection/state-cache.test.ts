import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStateCache, remember } from './state-cache.js';

describe('detection state cache', () => {
  it('keeps the states of a realm only while its cursor is where this process moved it', () => {
    const cache = createStateCache(4, 100);
    const states = cache.at('clinic', 10);
    remember(states, 'auth.brute-force', 'Account/a', { count: 1 });
    cache.moved('clinic', states, 20);
    assert.equal(cache.at('clinic', 20).rules.get('auth.brute-force')?.get('Account/a') !== undefined, true, 'kept at the cursor it moved to');
    const moved = cache.at('clinic', 25);
    assert.equal(moved.size, 0, 'another mover: read again');
    assert.equal(moved.rules.size, 0);
  });

  it('forgets a realm that was dropped, and one whose batch was not its own', () => {
    const cache = createStateCache(4, 100);
    const states = cache.at('clinic', 1);
    remember(states, 'r', 'k', 1);
    cache.drop('clinic');
    cache.moved('clinic', states, 2);
    assert.equal(cache.at('clinic', 2).size, 0);
  });

  it('is bounded: the least recently evaluated realm goes first, a realm past the key bound is not kept', () => {
    const cache = createStateCache(2, 2);
    for (const [realm, cursor] of [['a', 1], ['b', 1]] as const) {
      const states = cache.at(realm, cursor);
      remember(states, 'r', 'k', 1);
      cache.moved(realm, states, 2);
    }
    cache.at('a', 2);
    const c = cache.at('c', 1);
    remember(c, 'r', 'k', 1);
    cache.moved('c', c, 2);
    assert.equal(cache.at('a', 2).size, 1, 'a was used last: kept');
    assert.equal(cache.at('b', 2).size, 0, 'b was the least recent: dropped');
    const big = cache.at('big', 1);
    for (const key of ['x', 'y', 'z']) remember(big, 'r', key, 1);
    cache.moved('big', big, 2);
    assert.equal(cache.at('big', 2).size, 0);
  });

  it('remembers a key without state as known, and counts each key once', () => {
    const cache = createStateCache(2, 10);
    const states = cache.at('clinic', 1);
    remember(states, 'r', 'k', undefined);
    remember(states, 'r', 'k', { n: 1 });
    assert.equal(states.size, 1);
    assert.equal(states.rules.get('r')?.has('k'), true);
  });
});
