import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realmRounds } from './realm-rounds.js';

describe('realm rounds', () => {
  it('visits every realm at the first and every n-th round, in between only the realms with work', () => {
    const rounds = realmRounds(3);
    const all = ['a', 'b', 'c'];
    assert.deepEqual(rounds.pick(all), { realms: all, full: true });
    rounds.settle('a', false);
    rounds.settle('b', true);
    rounds.settle('c', false);
    assert.deepEqual(rounds.pick(all), { realms: ['b'], full: false }, 'b has work left');
    rounds.settle('b', false);
    rounds.mark('c');
    assert.deepEqual(rounds.pick(all), { realms: ['c'], full: false }, 'c was marked by a change');
    assert.deepEqual(rounds.pick(all), { realms: all, full: true }, 'the third round after the first is full again');
  });

  it('forgets realms that are gone', () => {
    const rounds = realmRounds(10);
    rounds.pick(['a', 'b']);
    rounds.mark('b');
    assert.deepEqual(rounds.pick(['a']).realms, []);
    assert.deepEqual(rounds.pick(['a', 'b']).realms, [], 'b was forgotten when it was gone');
  });
});
