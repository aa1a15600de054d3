import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertPayload } from './alert-payload.js';
import { alertSyslogFrame, escapeParamValue } from './alert-syslog.js';

const payload: AlertPayload = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  realm: 'clinic',
  rule: 'auth.brute_force',
  severity: 'critical',
  title: 'Many failed sign-ins',
  subject: 'ip:"203.0.113.9"]\\x',
  summary: '12 failed sign-ins in 5 minutes',
  state: 'open',
  count: 3,
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:05:00.000Z',
  kind: 'joined',
  url: 'https://tresor.example/tenants/clinic/console/alerts/x',
  runbook: 'https://tresor.example/runbooks/auth.brute_force',
};

describe('alerts as RFC 5424 syslog', () => {
  it('escapes ", \\ and ] in parameter values', () => {
    assert.equal(escapeParamValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  });

  it('frames an alert: octet count, priority from severity, msgid alert, structured data', () => {
    const frame = alertSyslogFrame(payload, Date.parse('2026-01-01T00:05:01Z'), 'host1', 42);
    const space = frame.indexOf(' ');
    const message = frame.slice(space + 1);
    assert.equal(Number(frame.slice(0, space)), Buffer.byteLength(message));
    assert.match(message, /^<106>1 2026-01-01T00:05:01\.000Z host1 tresor 42 alert \[tresor-alert@32473 rule="auth\.brute_force" severity="critical" alert="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" realm="clinic" count="3" state="open" kind="joined"\] \{/);
    assert.deepEqual(JSON.parse(message.slice(message.indexOf('] {') + 2)), payload);
  });

  it('maps each severity to its syslog severity', () => {
    for (const [severity, pri] of [['critical', 106], ['high', 107], ['medium', 108], ['low', 109]] as const) {
      assert.match(alertSyslogFrame({ ...payload, severity }, 0, 'h', 1), new RegExp(`^\\d+ <${pri}>1 `));
    }
  });
});
