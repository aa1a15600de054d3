import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultAlertSettings, type AlertSettings } from './alert-settings.js';
import { levels, nextStepAt, planStep, type EscalationPolicy } from './escalation-policy.js';
import type { Severity } from './types.js';

const policy: EscalationPolicy = { minutes: { critical: 15, high: 60, medium: 240, low: 0 }, mailFrom: 'medium' };
const noon = Date.parse('2026-03-02T12:00:00Z');
const night = Date.parse('2026-03-02T23:30:00Z');
const quiet: AlertSettings = { ...defaultAlertSettings, quietHours: { start: '22:00', end: '06:00' } };
const plan = (severity: Severity, step: Parameters<typeof planStep>[0]['step'], now = noon, settings: AlertSettings = defaultAlertSettings, operators = false) => planStep({ severity, step, now, operators, settings, policy });

describe('escalation policy', () => {
  it('a new alert goes to the admins; a platform alert to the operators', () => {
    assert.deepEqual(plan('high', undefined), { kind: 'notify', from: levels.admins, to: levels.admins });
    assert.deepEqual(plan('high', undefined, noon, defaultAlertSettings, true), { kind: 'notify', from: levels.operators, to: levels.operators });
  });

  it('below the mail threshold: console only, never escalated', () => {
    assert.deepEqual(plan('low', undefined), { kind: 'console' });
    assert.deepEqual(plan('low', { level: 0, severity: 'low', notifiedAt: noon - 1 }), { kind: 'none' });
    assert.equal(nextStepAt('low', 1, noon, policy), undefined);
  });

  it('the next level once the time passed, not before; none after the operators', () => {
    const step = { level: 1, severity: 'high' as const, notifiedAt: noon - 3_600_000, nextAt: noon };
    assert.deepEqual(plan('high', step), { kind: 'notify', from: levels.securityContact, to: levels.securityContact });
    assert.deepEqual(plan('high', { ...step, nextAt: noon + 1 }), { kind: 'none' });
    assert.deepEqual(plan('high', { ...step, level: 3 }), { kind: 'none' });
    assert.equal(nextStepAt('critical', 1, noon, policy), noon + 15 * 60_000);
    assert.equal(nextStepAt('critical', 3, noon, policy), undefined);
  });

  it('grown more severe: everyone reached so far hears again; from console-only to mail starts at the admins', () => {
    assert.deepEqual(plan('critical', { level: 2, severity: 'high', notifiedAt: noon - 1, nextAt: noon + 10 }), { kind: 'notify', from: levels.admins, to: levels.securityContact });
    assert.deepEqual(plan('medium', { level: 0, severity: 'low', notifiedAt: noon - 1 }), { kind: 'notify', from: levels.admins, to: levels.admins });
  });

  it('quiet hours hold non-critical mail (across midnight), never a critical alert', () => {
    assert.deepEqual(plan('high', undefined, night, quiet), { kind: 'hold' });
    assert.deepEqual(plan('high', { level: 1, severity: 'high', notifiedAt: night - 4e6, nextAt: night }, night, quiet), { kind: 'hold' });
    assert.deepEqual(plan('critical', undefined, night, quiet), { kind: 'notify', from: 1, to: 1 });
    assert.deepEqual(plan('high', undefined, noon, quiet), { kind: 'notify', from: 1, to: 1 });
  });
});
