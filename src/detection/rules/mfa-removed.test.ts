import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mfaRemoved } from './mfa-removed.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('change.mfa-removed', () => {
  const run = (detail: string, config = mfaRemoved.defaults) => mfaRemoved.evaluate(testEvent({ action: 'auth.mfa_removed', resources: ['Account/a-3'], detail }), undefined, config, testRealm);

  it('raises an administrator’s reset, without the administrator’s typed reason', () => {
    const { findings, state } = run('by-administrator; reason: lost phone, called from +49 170 555');
    assert.equal(findings?.[0]?.subject, 'Account/a-3');
    assert.match(findings?.[0]?.summary ?? '', /reset every second factor of Account\/a-3/);
    assert.doesNotMatch(findings?.[0]?.summary ?? '', /lost phone|555/);
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises a person’s own removal of the authenticator app or a passkey', () => {
    assert.match(run('totp').findings?.[0]?.summary ?? '', /removed the authenticator app/);
    assert.match(run('passkey').findings?.[0]?.summary ?? '', /removed a passkey/);
  });

  it('does not trigger on a person’s own removal when ownRemoval is off; the reset still does', () => {
    assert.deepEqual(run('totp', { ownRemoval: false }), {});
    assert.equal(run('by-administrator', { ownRemoval: false }).findings?.length, 1);
  });
});
