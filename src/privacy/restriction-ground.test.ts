import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restrictionGroundFor } from './restriction-ground.js';

describe('restrictionGroundFor', () => {
  it('is accuracy contested (Art. 18(1)(a)) while a rectification of the patient is open', () => {
    assert.equal(restrictionGroundFor(['rectification']), 'accuracy-contested');
    assert.equal(restrictionGroundFor(['objection', 'rectification', 'access']), 'accuracy-contested');
  });
  it('is objection pending (Art. 18(1)(d)) otherwise', () => {
    assert.equal(restrictionGroundFor([]), 'objection-pending');
    assert.equal(restrictionGroundFor(['objection', 'access']), 'objection-pending');
  });
});
