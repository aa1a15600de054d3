import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsChanged } from './settings-changed.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('change.settings', () => {
  const run = (action: 'tenant.settings_changed' | 'alert.settings_changed', detail: string) => settingsChanged.evaluate(testEvent({ action, detail }), undefined, settingsChanged.defaults, testRealm);

  it('raises the second factor turned off for everyone as high', () => {
    const { findings, state } = run('tenant.settings_changed', 'mfa optional');
    assert.equal(findings?.[0]?.subject, 'settings:mfa');
    assert.equal(findings?.[0]?.severity, 'high');
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises a stricter policy and an alert-settings change at the rule’s severity', () => {
    assert.equal(run('tenant.settings_changed', 'mfa everyone').findings?.[0]?.severity, undefined);
    const alerts = run('alert.settings_changed', 'time zone Europe/Berlin; working hours 07:00-19:00').findings?.[0];
    assert.equal(alerts?.subject, 'settings:alerts');
    assert.equal(alerts?.severity, undefined);
  });

  it('does not trigger on other events', () => {
    assert.deepEqual([...settingsChanged.actions].sort(), ['alert.settings_changed', 'tenant.settings_changed']);
  });
});
