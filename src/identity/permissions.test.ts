import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exceedsReach, roles, type Role } from './permissions.js';

describe('exceedsReach: what a tenant admin may grant alone', () => {
  it('a tenant admin grants its own role, and no role that reaches records or the audit trail (an independent table)', () => {
    const expected: Readonly<Record<Role, boolean>> = {
      'tenant-admin': false,
      clinician: true,
      'front-desk': true,
      billing: true,
      auditor: true,
      patient: true,
      service: true,
      'service-reader': true,
    };
    for (const role of roles) assert.equal(exceedsReach(role, 'tenant-admin'), expected[role], role);
  });

  it('compares actions, classes and reach, not only record types', () => {
    assert.equal(exceedsReach('service-reader', 'service'), false, 'reading is within full access');
    assert.equal(exceedsReach('service', 'service-reader'), true, 'writing is not within reading');
    assert.equal(exceedsReach('patient', 'clinician'), true, 'invoices (payment) are beyond a clinician');
    assert.equal(exceedsReach('front-desk', 'clinician'), true, 'every patient is beyond the patients in care');
    assert.equal(exceedsReach('clinician', 'service'), true, 'break-the-glass is a capability a service lacks');
  });
});
