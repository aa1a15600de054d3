import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';
import { tokenReuse } from './token-reuse.js';

describe('token.reuse', () => {
  it('raises every replay as critical, about the person whose grant it was, with the grant id', () => {
    const event = testEvent({ action: 'token.reuse_detected', outcome: 'failure', status: 400, actor: { id: 'account:a-1', role: 'unknown', client: 'oauth:c-9' }, detail: 'a spent refresh token was presented again: grant g-77 and all its tokens revoked' });
    const { findings, state } = tokenReuse.evaluate(event, undefined, tokenReuse.defaults, testRealm);
    assert.equal(tokenReuse.severity, 'critical');
    assert.equal(findings?.[0]?.subject, 'account:a-1');
    assert.match(findings?.[0]?.summary ?? '', /grant g-77/);
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises a replayed authorization code about the app', () => {
    const event = testEvent({ action: 'token.reuse_detected', outcome: 'failure', status: 400, actor: { id: 'client:c-9', role: 'app', client: 'oauth:c-9' }, detail: 'a spent authorization code was presented again: its grant and all its tokens revoked' });
    const { findings } = tokenReuse.evaluate(event, undefined, tokenReuse.defaults, testRealm);
    assert.equal(findings?.[0]?.subject, 'client:c-9');
    assert.match(findings?.[0]?.summary ?? '', /spent authorization code of client:c-9 .*; its grant revoked/);
  });

  it('looks at nothing but replays (an ordinary refresh is no finding)', () => {
    assert.deepEqual(tokenReuse.actions, ['token.reuse_detected']);
  });
});
