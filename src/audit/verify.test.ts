import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyFailedEvent } from './verify.js';

describe('verifyFailedEvent', () => {
  it('records the kinds and counts of the findings, never their details', () => {
    const event = verifyFailedEvent(
      [
        { seq: 4, kind: 'modified', detail: 'hash mismatch: actor someone-else' },
        { seq: 9, kind: 'missing', detail: 'event 9 is gone' },
        { seq: 10, kind: 'missing', detail: 'event 10 is gone' },
      ],
      { id: 'cli:root', role: 'operator', client: 'tresor-cli' },
    );
    assert.equal(event.action, 'audit.verify_failed');
    assert.equal(event.outcome, 'failure');
    assert.equal(event.detail, 'modified 1; missing 2');
    assert.equal(event.actor.id, 'cli:root');
  });
});
