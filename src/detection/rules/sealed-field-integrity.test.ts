import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sealedFieldIntegrity } from './sealed-field-integrity.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('integrity.sealed-field', () => {
  const failed = (version: string) => testEvent({ action: 'record.integrity_failed', outcome: 'failure', status: 500, actor: { id: 'apikey:k1', role: 'service', client: 'lab' }, resources: [version], detail: 'integrity-failed' });

  it('raises every failure as critical, about the record (any version of it joins one alert)', () => {
    const { findings, state } = sealedFieldIntegrity.evaluate(failed('Observation/o-1/_history/3'), undefined, sealedFieldIntegrity.defaults, testRealm);
    assert.equal(sealedFieldIntegrity.severity, 'critical');
    assert.equal(findings?.[0]?.subject, 'Observation/o-1');
    assert.match(findings?.[0]?.summary ?? '', /Observation\/o-1\/_history\/3 failed its integrity check when apikey:k1 read it/);
    assert.equal(state, undefined, 'keeps no state');
    assert.equal(sealedFieldIntegrity.evaluate(failed('Observation/o-1/_history/2'), undefined, {}, testRealm).findings?.[0]?.subject, 'Observation/o-1');
  });

  it('looks at integrity failures only (an ordinary failed read is another rule’s)', () => {
    assert.deepEqual(sealedFieldIntegrity.actions, ['record.integrity_failed']);
  });
});
