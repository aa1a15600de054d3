import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyCreated } from './api-key-created.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('change.api-key', () => {
  const run = (detail: string) => apiKeyCreated.evaluate(testEvent({ action: 'apikey.created', actor: { id: 'cli:root', role: 'operator', client: 'tresor-cli' }, detail }), undefined, apiKeyCreated.defaults, testRealm);

  it('raises a service key as high, with the key id as subject', () => {
    const { findings, state } = run('k_8f2 service');
    assert.equal(findings?.[0]?.subject, 'apikey:k_8f2');
    assert.equal(findings?.[0]?.severity, 'high');
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises a narrower key at the rule’s severity (medium)', () => {
    const { findings } = run('k_9a1 front-desk');
    assert.equal(findings?.[0]?.severity, undefined);
    assert.equal(apiKeyCreated.severity, 'medium');
  });

  it('does not look at other events', () => {
    assert.ok(!apiKeyCreated.actions.includes('apikey.revoked'));
  });
});
