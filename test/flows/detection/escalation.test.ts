import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { createAlerts, createEscalation, rules } from '../../../src/detection/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { testPassword } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type ReceivedMail, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const publicUrl = 'https://vault.clinic.example';
const from = 'Tresor <tresor@clinic.example>';
const cli = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const by = { actor: { id: 'account:admin', role: 'tenant-admin', client: 'session' }, requestId: 'r1', sourceIp: '127.0.0.1' };
const minute = 60_000;

/** An active account (password set) of the realm: who alerts go to. The setup token is returned, to prove no mail carries it. */
async function person(app: Tresor, realm: string, role: string, email: string): Promise<{ id: string; setupToken: string }> {
  const { account, setupToken } = await app.accounts.invite({ tenantId: realm, role, email, by: cli });
  await app.accounts.completeSetup({ tenantId: realm, token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
  return { id: account.id, setupToken };
}

const finding = (subject: string, severity: 'low' | 'medium' | 'high' | 'critical') => ({ subject, summary: `7 failed sign-ins within 10 minutes against ${subject}`, severity });

/**
 * Alerts reach people by mail through a real SMTP relay (aiosmtpd, STARTTLS): the tenant's
 * admins first, then — while nobody acknowledges — its security contact, then the platform
 * operators; quiet hours hold non-critical mail; the clock is the app's, advanced by hand.
 */
for (const engine of engines()) {
  describe(`alert mail and escalation [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let secrets: string[];
    // Monday 09:00 UTC; each reading moves it on by a millisecond, like the harness's.
    const base = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const mailsOf = (alertId: string): ReceivedMail[] => relay.received().filter((m) => m.text.includes(alertId));
    const round = async () => {
      await t.app.escalation?.run('clinic');
      await t.app.escalation?.run('operators');
      await t.app.mail?.settled();
    };

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(
        engine,
        {
          server: { publicUrl },
          mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } },
          // The job's own round far apart: the test runs the rounds (and `wake` may run one too).
          detection: { walkSeconds: 3600, escalation: { critical: 5, high: 10, medium: 240, low: 0, checkSeconds: 3600 } },
        },
        { clock },
      );
      const apiKey = await t.tenant('clinic');
      const admin = await person(t.app, 'clinic', 'tenant-admin', 'the.admin@clinic.example');
      await person(t.app, 'clinic', 'clinician', 'dr.weber@clinic.example');
      await t.app.accounts.invite({ tenantId: 'clinic', role: 'tenant-admin', email: 'not.yet@clinic.example', by: cli });
      const operator = await person(t.app, 'operators', 'operator', 'ops@vault.example');
      secrets = [testPassword, apiKey, admin.setupToken, operator.setupToken];
    });
    after(async () => {
      await t.close();
      await relay.stop();
      rmSync(cert.dir, { recursive: true, force: true });
    });

    it('a new alert is mailed to the tenant admins at once: subject, links, ids and counts — no secrets, nobody else', async () => {
      const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_first', 'high'));
      await round();
      const mails = mailsOf(alert.id);
      assert.equal(mails.length, 1, 'one mail: the only active admin (not the invited one, not the clinician)');
      const [mail] = mails as [ReceivedMail];
      assert.deepEqual([mail.rcptTos, mail.from, mail.tls], [['the.admin@clinic.example'], from, true]);
      assert.match(mail.subject, /^\[Tresor HIGH\] Brute force on an account – .*\(clinic\)$/);
      assert.ok(mail.text.includes(`${publicUrl}/tenants/clinic/console/alerts/${alert.id}`), mail.text);
      assert.ok(mail.text.includes(`${publicUrl}/runbooks/auth.brute-force`));
      assert.ok(mail.html?.includes(`href="${publicUrl}/tenants/clinic/console/alerts/${alert.id}"`));
      assert.match(mail.text, /^Betrifft \/ Subject: Account\/usr_first$/m);
      assert.match(mail.text, /^Anzahl \/ Count: 1$/m);
      assert.match(mail.text, /in 10 minutes/);
      for (const secret of secrets) assert.ok(!mail.text.includes(secret) && !mail.html?.includes(secret) && !mail.subject.includes(secret), 'no password, key or token');
      await round();
      assert.equal(mailsOf(alert.id).length, 1, 'a second round sends nothing more');
      assert.ok(!t.logs.some((line) => line.includes('the.admin@clinic.example')), 'no address in the log');
    });

    it('unacknowledged: after its time the security contact hears of it, then the operators; nothing after that', async () => {
      await t.app.alerts.saveSettings('clinic', { securityContact: 'security@clinic.example' }, by);
      const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_second', 'high'));
      await round();
      assert.deepEqual(mailsOf(alert.id).map((m) => m.rcptTos), [['the.admin@clinic.example']]);
      base.advance(9 * minute);
      await round();
      assert.equal(mailsOf(alert.id).length, 1, 'not before its time (10 minutes for high here)');
      base.advance(2 * minute);
      await round();
      assert.deepEqual(mailsOf(alert.id).map((m) => m.rcptTos), [['the.admin@clinic.example'], ['security@clinic.example']]);
      assert.match(mailsOf(alert.id)[1]?.text ?? '', /as the security contact: nobody acknowledged/);
      base.advance(11 * minute);
      await round();
      assert.deepEqual(mailsOf(alert.id).map((m) => m.rcptTos), [['the.admin@clinic.example'], ['security@clinic.example'], ['ops@vault.example']]);
      assert.match(mailsOf(alert.id)[2]?.text ?? '', /as a platform operator/);
      base.advance(60 * minute);
      await round();
      assert.equal(mailsOf(alert.id).length, 3, 'the operators are the last level');
    });

    it('an acknowledged alert does not escalate', async () => {
      const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_third', 'critical'));
      await round();
      assert.equal(mailsOf(alert.id).length, 1);
      await t.app.alerts.acknowledge('clinic', alert.id, by);
      base.advance(60 * minute);
      await round();
      assert.equal(mailsOf(alert.id).length, 1, 'acknowledged: nobody else is told');
    });

    it('quiet hours hold a high alert’s mail until they end, but not a critical one’s', async () => {
      const hour = base.now().getUTCHours();
      const at = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
      await t.app.alerts.saveSettings('clinic', { securityContact: 'security@clinic.example', quietHours: { start: at(hour), end: at(hour + 2) } }, by);
      const high = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_quiet_high', 'high'));
      const critical = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_quiet_critical', 'critical'));
      await round();
      assert.equal(mailsOf(high.id).length, 0, 'held in quiet hours');
      assert.deepEqual(mailsOf(critical.id).map((m) => m.rcptTos), [['the.admin@clinic.example']], 'critical goes at once');
      base.advance(6 * minute);
      await round();
      assert.deepEqual(mailsOf(critical.id).map((m) => m.rcptTos), [['the.admin@clinic.example'], ['security@clinic.example']], 'and escalates on time in quiet hours');
      assert.equal(mailsOf(high.id).length, 0);
      base.set(new Date(Date.UTC(2026, 2, 2, hour + 2, 1)));
      await round();
      assert.deepEqual(mailsOf(high.id).map((m) => m.rcptTos), [['the.admin@clinic.example']], 'sent when the quiet hours end');
      await t.app.alerts.saveSettings('clinic', { securityContact: 'security@clinic.example' }, by);
    });

    it('alerts held by quiet hours never crowd a critical one out of a round', async () => {
      const hour = base.now().getUTCHours();
      const at = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
      await t.app.alerts.saveSettings('clinic', { securityContact: 'security@clinic.example', quietHours: { start: at(hour), end: at(hour + 2) } }, by);
      // Raised where no listener hears (as by another process), so only the round below looks at them.
      const silent = createAlerts({ storage: t.app.storage, clock, audit: t.app.audit, rules, dedupMs: 60 * minute });
      for (let i = 0; i < 3; i += 1) await silent.raise('clinic', 'auth.brute-force', finding(`Account/usr_held_${i}`, 'high'));
      const critical = await silent.raise('clinic', 'auth.brute-force', finding('Account/usr_crowded', 'critical'));
      const sent: string[] = [];
      const oneAtATime = createEscalation({
        storage: t.app.storage,
        clock,
        accounts: t.app.accounts,
        tenantName: async () => 'Clinic',
        notifier: { send: async (message) => void sent.push(message.text) },
        publicUrl,
        operatorRealm: 'operators',
        policy: { minutes: { critical: 5, high: 10, medium: 240, low: 0 }, mailFrom: 'medium' },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        batch: 1,
      });
      await oneAtATime.run('clinic');
      assert.equal(sent.length, 1);
      assert.ok(sent[0]?.includes(critical.id), 'the critical alert first, though the held ones are older');
      await t.app.alerts.saveSettings('clinic', { securityContact: 'security@clinic.example' }, by);
    });

    it('a low alert stays in the console; a platform alert goes to the operators directly', async () => {
      const low = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_low', 'low'));
      const platform = await t.app.alerts.raise('operators', 'auth.brute-force', finding('Account/op_1', 'high'));
      await round();
      base.advance(24 * 60 * minute);
      await round();
      assert.equal(mailsOf(low.id).length, 0);
      const mails = mailsOf(platform.id);
      assert.deepEqual(mails.map((m) => m.rcptTos), [['ops@vault.example']]);
      assert.ok(mails[0]?.text.includes(`${publicUrl}/platform/console/alerts/${platform.id}`));
      assert.match(mails[0]?.subject ?? '', /Plattform \/ platform$/);
    });
  });
}

describe('a crash between an alert and its mail', { skip: smtpSkipReason() }, () => {
  let cert: TestCertificate;
  let relay: SmtpRelay;
  let dataDir: string;
  before(async () => {
    cert = makeCertificate();
    relay = await startSmtpRelay({ tls: cert });
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-escalation-'));
  });
  after(async () => {
    await relay.stop();
    rmSync(cert.dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a fresh server on the same data sends it, exactly once', async () => {
    const config = loadConfig({
      env: {},
      overrides: { dataDir, server: { tls: { enabled: false }, publicUrl }, log: { level: 'silent' }, mail: { smtp: { host: '127.0.0.1', port: relay.port, from, caFile: cert.certFile } }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } },
    });
    const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    const clock = fixedClock(new Date('2026-03-02T10:00:00Z'));
    const first = await buildApp(config, { logDestination: quiet(), clock });
    await first.tenants.create('clinic');
    await person(first, 'clinic', 'tenant-admin', 'the.admin@clinic.example');
    // The alert is committed by a process that dies before telling anyone: no listener hears it.
    const dying = createAlerts({ storage: first.storage, clock, audit: first.audit, rules, dedupMs: 60 * minute });
    const alert = await dying.raise('clinic', 'auth.brute-force', finding('Account/usr_crash', 'high'));
    await first.mail?.settled();
    await first.close();
    assert.equal(relay.received().length, 0, 'nothing was sent before the crash');

    const second = await buildApp(config, { logDestination: quiet(), clock });
    try {
      // The restarted job's first round (at start) finds the open alert nobody was told of.
      const [mail] = await relay.waitFor(1);
      assert.ok(mail?.text.includes(alert.id));
      await second.escalation?.run('clinic');
      await second.mail?.settled();
      assert.equal(relay.received().filter((m) => m.text.includes(alert.id)).length, 1, 'exactly once');
    } finally {
      await second.close();
    }
    const third = await buildApp(config, { logDestination: quiet(), clock });
    try {
      await third.escalation?.run('clinic');
      await third.mail?.settled();
      assert.equal(relay.received().length, 1, 'and not again after another restart');
    } finally {
      await third.close();
    }
  });
});
