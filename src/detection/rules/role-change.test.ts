import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roleChange } from './role-change.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('change.role', () => {
  const run = (detail: string) => roleChange.evaluate(testEvent({ action: 'role.changed', resources: ['Account/a-7'], detail }), undefined, roleChange.defaults, testRealm);

  it('raises a change into tenant-admin as high, naming the account and both roles', () => {
    const { findings, state } = run('clinician→tenant-admin');
    assert.equal(findings?.length, 1);
    assert.equal(findings?.[0]?.subject, 'Account/a-7');
    assert.equal(findings?.[0]?.severity, 'high');
    assert.match(findings?.[0]?.summary ?? '', /from clinician to tenant-admin/);
    assert.equal(state, undefined, 'keeps no state: nothing can grow');
  });

  it('raises an ordinary change at the rule’s severity, and an operator role as high', () => {
    assert.equal(run('front-desk→clinician; practitioner -→Practitioner/p1').findings?.[0]?.severity, undefined);
    assert.equal(run('operator→backup-operator').findings?.[0]?.severity, 'high');
  });

  it('does not trigger on a practitioner link change alone', () => {
    assert.deepEqual(run('practitioner -→Practitioner/p1'), {});
  });

  it('follows the configured elevated roles', () => {
    const config = { elevatedRoles: ['tenant-admin', 'auditor'] };
    assert.equal(roleChange.evaluate(testEvent({ action: 'role.changed', detail: 'billing→auditor' }), undefined, config, testRealm).findings?.[0]?.severity, 'high');
  });
});
