import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IncidentError } from './errors.js';
import { checkPublicText, parseAlertRef, tenantIds, text, time } from './validate.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof IncidentError ? error.code : 'other';
  }
  return 'none';
};
const tenants = [
  { id: 'clinic-north', name: 'Praxis Nord' },
  { id: 'dental', name: 'Zahnarzt am Markt' },
];

describe('incident validation', () => {
  it('refuses public text naming a tenant by id or name, or a patient', () => {
    assert.equal(code(() => checkPublicText('Sign-in was slow for some customers.', tenants)), 'none');
    assert.equal(code(() => checkPublicText('Customers of clinic-north could not sign in.', tenants)), 'public-text-refused');
    assert.equal(code(() => checkPublicText('praxis nord affected', tenants)), 'public-text-refused');
    assert.equal(code(() => checkPublicText('the DENTAL practice', tenants)), 'public-text-refused');
    assert.equal(code(() => checkPublicText('see Patient/123', tenants)), 'public-text-refused');
    // A word containing an id is not the id.
    assert.equal(code(() => checkPublicText('accidental outage', tenants)), 'none');
  });
  it('takes texts, times, tenants and alert references of the right shape only', () => {
    assert.equal(text({ t: '  x ' }, 't'), 'x');
    assert.equal(code(() => text({ t: 'a\u0000b' }, 't')), 'incident-invalid');
    assert.equal(code(() => text({}, 't', { required: true })), 'incident-invalid');
    assert.equal(code(() => text({ t: 'x'.repeat(201) }, 't', { max: 200 })), 'incident-invalid');
    assert.equal(time({ at: '2026-03-01T10:00:00Z' }, 'at'), Date.parse('2026-03-01T10:00:00Z'));
    assert.equal(code(() => time({ at: '2026-03-01' }, 'at')), 'incident-invalid');
    assert.deepEqual(tenantIds({ tenants: ['b', 'a', 'b'] }), ['a', 'b']);
    assert.equal(code(() => tenantIds({ tenants: ['../x'] })), 'incident-invalid');
    assert.deepEqual(parseAlertRef('operators/01900000-0000-7000-8000-000000000000'), { realm: 'operators', alertId: '01900000-0000-7000-8000-000000000000' });
    assert.equal(code(() => parseAlertRef('operators/1')), 'incident-invalid');
  });
});
