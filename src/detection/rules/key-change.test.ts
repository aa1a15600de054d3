import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyChange } from './key-change.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('change.keys', () => {
  const system = { id: 'system:key-rotation', role: 'system', client: 'tresor' };

  it('raises a rotation with failed rows as high', () => {
    const { findings, state } = keyChange.evaluate(testEvent({ action: 'key.rotated', actor: system, outcome: 'failure', detail: 'generation 2 done; retired nothing; 3 rows failed' }), undefined, keyChange.defaults, testRealm);
    assert.equal(findings?.[0]?.severity, 'high');
    assert.equal(findings?.[0]?.subject, 'keys:rotation');
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises a shredding as medium, naming the subject', () => {
    const { findings } = keyChange.evaluate(testEvent({ action: 'key.shredded', subjects: ['Patient/p-9'], detail: '2 key versions, 4 records erased' }), undefined, keyChange.defaults, testRealm);
    assert.equal(findings?.[0]?.severity, 'medium');
    assert.match(findings?.[0]?.summary ?? '', /Patient\/p-9/);
  });

  it('raises a successful rotation low, and not at all with rotations off', () => {
    const ok = testEvent({ action: 'key.rotated', actor: system, detail: 'generation 2 current' });
    assert.equal(keyChange.evaluate(ok, undefined, keyChange.defaults, testRealm).findings?.[0]?.severity, undefined);
    assert.equal(keyChange.severity, 'low');
    assert.deepEqual(keyChange.evaluate(ok, undefined, { rotations: false }, testRealm), {});
  });
});
