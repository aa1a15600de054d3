import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertMessage, type AlertMailInput } from './alert-message.js';

const alert = {
  id: '0190c1a2-0000-7000-8000-000000000001',
  realm: 'praxis',
  rule: 'auth.brute-force',
  severity: 'high' as const,
  title: 'Brute force on an account',
  subject: 'Account/usr_42',
  summary: '12 failed sign-ins in 10 minutes',
  state: 'open' as const,
  count: 3,
  firstAt: Date.parse('2026-03-02T12:00:00Z'),
  lastAt: Date.parse('2026-03-02T12:05:00Z'),
};
const input: AlertMailInput = { alert, where: { id: 'praxis', name: 'Praxis <Dr.>\r\nBcc: x@evil.example', platform: false }, level: 1, moreSevere: false, timeZone: 'Europe/Berlin', publicUrl: 'https://v.example/', escalatesInMinutes: 60 };
const to = { realm: 'praxis', accountId: 'usr_1', email: 'admin@praxis.example' };

describe('alert mail', () => {
  it('subject: severity, title, tenant — on one line', () => {
    const { subject } = alertMessage(input, to);
    assert.match(subject, /^\[Tresor HIGH\] Brute force on an account – Praxis <Dr\.> Bcc: x@evil\.example \(praxis\)$/);
    assert.doesNotMatch(subject, /[\r\n]/);
  });

  it('links to the alert page and the runbook; operators get the platform console', () => {
    const { text } = alertMessage(input, to);
    assert.match(text, /^Alarm ansehen \/ View the alert: https:\/\/v\.example\/tenants\/praxis\/console\/alerts\/0190c1a2-0000-7000-8000-000000000001$/m);
    assert.match(text, /^Runbook: https:\/\/v\.example\/runbooks\/auth\.brute-force$/m);
    const platform = alertMessage({ ...input, where: { id: 'operators', name: 'Tresor', platform: true }, level: 3 }, { realm: 'operators', accountId: 'op_1', email: 'op@v.example' });
    assert.match(platform.text, /https:\/\/v\.example\/platform\/console\/alerts\/0190c1a2/);
  });

  it('a tenant alert escalated to the operators links them to their own console; the tenant’s people keep the clinic console', () => {
    const operator = { realm: 'operators', accountId: 'op_1', email: 'op@v.example' };
    const escalated = alertMessage({ ...input, level: 3, escalatesInMinutes: undefined }, operator);
    assert.match(escalated.text, /^Alarm ansehen \/ View the alert: https:\/\/v\.example\/platform\/console\/alerts\/escalated\/praxis\/0190c1a2-0000-7000-8000-000000000001$/m);
    assert.ok(escalated.html?.includes('href="https://v.example/platform/console/alerts/escalated/praxis/0190c1a2-0000-7000-8000-000000000001"'));
    for (const level of [1, 2]) assert.match(alertMessage({ ...input, level }, to).text, /View the alert: https:\/\/v\.example\/tenants\/praxis\/console\/alerts\/0190c1a2/, `level ${level}`);
  });

  it('says the count, the times (UTC and the tenant zone), the escalation time, in both languages', () => {
    const { text } = alertMessage(input, to);
    assert.match(text, /^Anzahl \/ Count: 3$/m);
    assert.match(text, /UTC/);
    assert.match(text, /GMT\+1|CET/);
    assert.match(text, /in 60 Minuten/);
    assert.match(text, /in 60 minutes/);
  });

  it('the HTML part escapes what it did not write', () => {
    const { html } = alertMessage(input, to);
    assert.ok(html?.includes('Praxis &#60;Dr.&#62;'));
    assert.ok(!html?.includes('<Dr.>'));
  });

  it('goes to the recipient through their own realm, as an alert (no token kind)', () => {
    const message = alertMessage(input, to);
    assert.deepEqual([message.kind, message.tenantId, message.accountId, message.to], ['alert', 'praxis', 'usr_1', 'admin@praxis.example']);
  });

  it('without server.publicUrl: paths and a note', () => {
    const { text } = alertMessage({ ...input, publicUrl: undefined }, to);
    assert.match(text, /^Runbook: \/runbooks\/auth\.brute-force$/m);
    assert.match(text, /server\.publicUrl is unset/);
  });
});
