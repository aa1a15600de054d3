import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditCheckpointFailing } from './audit-checkpoint-failing.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('audit.checkpoint-failing', () => {
  it('raises a failure streak as high, with the error code', () => {
    const event = testEvent({ action: 'audit.checkpoint_failed', outcome: 'failure', status: 0, actor: { id: 'system:audit-checkpoint', role: 'system', client: 'tresor' }, detail: 'EACCES' });
    const { findings, state } = auditCheckpointFailing.evaluate(event, undefined, auditCheckpointFailing.defaults, testRealm);
    assert.equal(auditCheckpointFailing.severity, 'high');
    assert.equal(findings?.[0]?.subject, 'audit-checkpoints:clinic');
    assert.match(findings?.[0]?.summary ?? '', /EACCES/);
    assert.equal(state, undefined, 'keeps no state: the audit trail records a streak once');
  });

  it('looks at checkpoint failures only', () => {
    assert.deepEqual(auditCheckpointFailing.actions, ['audit.checkpoint_failed']);
  });
});
