import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPlacement } from './placement.js';

describe('placement', () => {
  it('answers from what it knows, asks the platform for a tenant it has not seen, and remembers', async () => {
    const asked: string[] = [];
    const placement = createPlacement([{ id: 'a', region: 'eu' }], async (id) => {
      asked.push(id);
      return id === 'b' ? 'us' : undefined;
    });
    assert.equal(placement.regionOf('a'), 'eu');
    assert.equal(placement.regionOf('b'), 'default');
    assert.equal(await placement.resolve('b'), 'us');
    assert.equal(placement.regionOf('b'), 'us');
    assert.equal(await placement.resolve('b'), 'us');
    assert.equal(await placement.resolve('operators'), 'default');
    assert.deepEqual(asked, ['b', 'operators']);
    placement.assign('c', 'eu');
    assert.equal(placement.regionOf('c'), 'eu');
  });
});
