import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditChainFindings } from './audit-chain-findings.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('audit.chain-findings', () => {
  it('raises findings as critical, with their kinds and counts, about the realm’s trail', () => {
    const event = testEvent({ action: 'audit.verify_failed', outcome: 'failure', status: 0, actor: { id: 'system:audit-verify', role: 'system', client: 'tresor' }, detail: 'modified 1; missing 2' });
    const { findings, state } = auditChainFindings.evaluate(event, undefined, auditChainFindings.defaults, testRealm);
    assert.equal(auditChainFindings.severity, 'critical');
    assert.equal(findings?.[0]?.subject, 'audit:clinic');
    assert.match(findings?.[0]?.summary ?? '', /modified 1; missing 2/);
    assert.equal(state, undefined, 'keeps no state');
  });

  it('watches the operators’ trail too, and nothing but verification failures', () => {
    assert.equal(auditChainFindings.realms, 'all');
    assert.deepEqual(auditChainFindings.actions, ['audit.verify_failed']);
  });
});
