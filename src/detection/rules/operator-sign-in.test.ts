import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { operatorSignIn } from './operator-sign-in.js';

const operators = { realm: 'operators', operators: true, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' } };

describe('auth.operator-sign-in', () => {
  it('raises for every sign-in of an operator, naming the account, role, address and method', () => {
    const event = auditEvent({ seq: 7, tenantId: 'operators', action: 'auth.login_succeeded', outcome: 'success', status: 200, actor: { id: 'account:usr_op', role: 'operator', client: 'tresor-auth' }, resources: ['Account/usr_op'], detail: 'totp' });
    const { findings } = runRule(operatorSignIn, [event, { ...event, seq: 8 }], {}, operators);
    assert.equal(findings.length, 2);
    assert.equal(findings[0]?.subject, 'Account/usr_op');
    assert.equal(findings[0]?.summary, 'Account/usr_op (operator) signed in from 203.0.113.7 (second factor totp)');
  });

  it('does not raise for failed sign-ins, and watches only the operators\' realm', () => {
    assert.equal(runRule(operatorSignIn, [auditEvent({ seq: 1, tenantId: 'operators' })], {}, operators).findings.length, 0);
    assert.equal(operatorSignIn.realms, 'operators');
  });
});
