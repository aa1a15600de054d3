import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addYears, classOfType, retentionClasses, typesOfClass } from './retention-classes.js';

describe('retention classes', () => {
  it('every class has types, and every patient type one class', () => {
    for (const c of retentionClasses) assert.ok(typesOfClass(c).length > 0, c);
    assert.deepEqual(typesOfClass('health'), ['Observation', 'Appointment']);
    assert.equal(classOfType['Practitioner'], undefined);
  });
  it('adds calendar years', () => {
    assert.equal(new Date(addYears(Date.parse('2016-03-01T10:00:00Z'), 10)).toISOString(), '2026-03-01T10:00:00.000Z');
    assert.equal(new Date(addYears(Date.parse('2016-02-29T00:00:00Z'), 1)).toISOString(), '2017-03-01T00:00:00.000Z');
  });
});
