import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort, rsyslogOn, rsyslogSkip, until, type Rsyslog } from '../../support/rsyslog.js';

/** RFC 5424 §6.3.3: a PARAM-VALUE with its escapes (\", \\, \]) undone. */
function structuredData(line: string, id: string): Record<string, string> {
  const start = line.indexOf(`[${id} `);
  assert.ok(start >= 0, `no [${id}] in ${line}`);
  const params: Record<string, string> = {};
  const param = /\s([^=\s\]]+)="((?:[^"\\]|\\.)*)"/y;
  param.lastIndex = start + id.length + 1;
  for (let m = param.exec(line); m !== null; m = param.exec(line)) params[m[1] as string] = (m[2] as string).replace(/\\(["\\\]])/g, '$1');
  return params;
}

/**
 * Alerts to the SIEM's syslog (the audit sink's server), against a real rsyslog: each change of
 * an alert is its own RFC 5424 message, MSGID `alert`, severity from the alert's, structured
 * data naming rule, alert, realm and count; delivered from the queue, so nothing is lost while
 * rsyslog is down.
 */
describe('alerts to syslog, to a real rsyslog', { skip: rsyslogSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-alert-syslog-'));
  let rsyslog: Rsyslog;
  let t: TestApp;
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const alertLines = () => rsyslog.lines().filter((l) => / tresor \d+ alert \[/.test(l));

  before(async () => {
    const port = await freePort();
    rsyslog = rsyslogOn(dir, port);
    await rsyslog.start();
    t = await startTestApp('sqlite', { detection: { enabled: false }, audit: { sinks: { syslog: `tcp://127.0.0.1:${port}` } } }, { clock });
    await t.tenant('clinic');
  });
  after(async () => {
    await t?.close();
    await rsyslog?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a raised alert as an RFC 5424 message with its fields, severity mapped', async () => {
    const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', { subject: 'Account/a1', summary: '5 failed sign-ins against Account/a1 in 10 minutes', severity: 'critical' });
    await until(() => alertLines().some((l) => l.includes(alert.id)), 15_000, 'the alert at rsyslog');
    const line = alertLines().find((l) => l.includes(alert.id)) as string;
    // <PRI>: facility 13 (log audit) × 8 + 2 (crit).
    assert.match(line, /^<106>1 \d{4}-\d{2}-\d{2}T[\d:.]+Z \S+ tresor \d+ alert \[tresor-alert@32473 /);
    assert.deepEqual(structuredData(line, 'tresor-alert@32473'), { rule: 'auth.brute-force', severity: 'critical', alert: alert.id, realm: 'clinic', count: '1', state: 'open', kind: 'raised' });
    const payload = JSON.parse(line.slice(line.indexOf('] {') + 2)) as Record<string, unknown>;
    assert.equal(payload['id'], alert.id);
    assert.equal(payload['summary'], '5 failed sign-ins against Account/a1 in 10 minutes');
  });

  it('sends the acknowledgement as another message, and what changed while rsyslog was down once it is back', async () => {
    const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', { subject: 'Account/a2', summary: '5 failed sign-ins against Account/a2 in 10 minutes' });
    await until(() => alertLines().some((l) => l.includes(alert.id)), 15_000, 'the raise');
    await rsyslog.stop();
    const by = { actor: { id: 'account:admin', role: 'tenant-admin', client: 'session' }, requestId: 'r1', sourceIp: '127.0.0.1' };
    await t.app.alerts.acknowledge('clinic', alert.id, by);
    const db = await t.app.storage.tenant('clinic');
    const failures = async () => Number((await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${db.table('alert_delivery_attempts')} WHERE target = 'syslog' AND error IS NOT NULL`))[0]?.n ?? 0);
    await until(async () => (await failures()) > 0, 15_000, 'a failed attempt while rsyslog is down');
    assert.ok(!alertLines().some((l) => l.includes(alert.id) && l.includes('state="acknowledged"')));
    await rsyslog.start();
    // The retry waits (5 s ± 20 %, doubling): the clock moves past it, the test sends what is due.
    offset += 10_000;
    await until(
      async () => {
        await t.app.alertDelivery.deliverDue('clinic');
        return alertLines().some((l) => l.includes(alert.id) && l.includes('state="acknowledged"'));
      },
      40_000,
      'the acknowledgement at rsyslog',
    );
    const line = alertLines().find((l) => l.includes(alert.id) && l.includes('state="acknowledged"')) as string;
    // high → 3 (err): 13 × 8 + 3.
    assert.match(line, /^<107>1 /);
    assert.equal(structuredData(line, 'tresor-alert@32473')['kind'], 'acknowledged');
  });
});
