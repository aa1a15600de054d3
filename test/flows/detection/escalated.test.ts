import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAlerts, createEscalatedAlerts, createEscalation, rules, type Alert, type EscalatedView } from '../../../src/detection/index.js';
import type { Message } from '../../../src/identity/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, testPassword, type Person } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type ReceivedMail, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const publicUrl = 'https://vault.clinic.example';
const from = 'Tresor <tresor@clinic.example>';
const minute = 60_000;
const finding = (subject: string) => ({ subject, summary: `7 failed sign-ins within 10 minutes against ${subject}`, severity: 'high' as const });

/**
 * Tenant alerts that nobody at the tenant acknowledged in time reach the platform operators: a
 * record in the platform data set written before their mail, listed at
 * `/platform/alerts/escalated` and in the operator console, with the outward fields and the
 * escalation's steps — never the tenant's events or resolution note; an operator acknowledges
 * one (the tenant's trail says so, and the operators'); the operators' mail opens that page.
 * A real SMTP relay; the app's clock, advanced by hand.
 */
for (const engine of engines()) {
  describe(`tenant alerts escalated to the operators [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let admin: Person;
    let operator: Person;
    let backups: Person;
    const base = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const now = () => base.now().getTime();
    const mailsOf = (alertId: string): ReceivedMail[] => relay.received().filter((m) => m.text.includes(alertId));
    const round = async () => {
      await t.app.escalation?.run('clinic');
      await t.app.mail?.settled();
    };
    /** A high alert of the clinic, mailed to its admin, then — nobody acknowledging, no security contact set — to the operators. */
    async function escalatedAlert(subject: string): Promise<Alert> {
      const alert = await t.app.alerts.raise('clinic', 'auth.brute-force', finding(subject));
      await round();
      base.advance(11 * minute);
      await round();
      assert.deepEqual(mailsOf(alert.id).map((m) => m.rcptTos), [['admin@clinic.example'], ['ops@hosting.example']], 'setup: the admin, then the operator');
      return alert;
    }
    const get = (who: Person, url: string) => as(t, who, { method: 'GET', url });
    const post = (who: Person, url: string) => as(t, who, { method: 'POST', url });

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(
        engine,
        {
          server: { publicUrl },
          identity: { sessionIdleMinutes: 24 * 60 },
          mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } },
          detection: { walkSeconds: 3600, escalation: { critical: 5, high: 10, medium: 240, low: 0, checkSeconds: 3600 } },
        },
        { clock },
      );
      await t.tenant('clinic');
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', now);
      operator = await signInOperator(t, 'operator', 'ops@hosting.example', now);
      backups = await signInOperator(t, 'backup-operator', 'backups@hosting.example', now);
    });
    after(async () => {
      await t.close();
      await relay.stop();
    });

    it('the operators’ mail opens their console’s page of the alert; the admin’s keeps the clinic console', async () => {
      const alert = await escalatedAlert('Account/usr_mail');
      const [adminMail, operatorMail] = mailsOf(alert.id) as [ReceivedMail, ReceivedMail];
      assert.ok(adminMail.text.includes(`${publicUrl}/tenants/clinic/console/alerts/${alert.id}`));
      const link = `${publicUrl}/platform/console/alerts/escalated/clinic/${alert.id}`;
      assert.ok(operatorMail.text.includes(link), operatorMail.text);
      assert.ok(operatorMail.html?.includes(`href="${link}"`));
      const page = await get(operator, link.slice(publicUrl.length));
      assert.equal(page.statusCode, 200, page.body);
      assert.ok(page.body.includes('Brute force on an account') && page.body.includes('Account/usr_mail'));
      assert.ok(page.body.includes(`/platform/console/alerts/escalated/clinic/${alert.id}/acknowledge`), 'the acknowledge form');
      for (const mail of [adminMail, operatorMail]) assert.ok(!mail.text.includes(testPassword));
    });

    it('lists the escalated alert for operators: outward fields, the escalation — not the tenant’s events; reads are audited in both trails', async () => {
      const alert = await escalatedAlert('Account/usr_list');
      const list = await get(operator, '/platform/alerts/escalated?state=open');
      assert.equal(list.statusCode, 200, list.body);
      const row = (json(list).alerts as Array<Record<string, unknown>>).find((a) => a['id'] === alert.id);
      assert.ok(row !== undefined, 'listed');
      assert.deepEqual([row['tenant'], row['realm'], row['rule'], row['severity'], row['state'], row['subject']], ['clinic', 'clinic', 'auth.brute-force', 'high', 'open', 'Account/usr_list']);
      assert.equal(row['url'], `${publicUrl}/platform/console/alerts/escalated/clinic/${alert.id}`);
      assert.equal(row['runbook'], `${publicUrl}/runbooks/auth.brute-force`);
      assert.match(String(row['reachedOperators']), /^2026-03-02T/);
      const detail = await get(operator, `/platform/alerts/escalated/clinic/${alert.id}`);
      assert.equal(detail.statusCode, 200, detail.body);
      const body = json(detail);
      assert.deepEqual(body.escalation.levels, ['admins', 'security-contact', 'operators']);
      assert.ok(body.escalation.lastStepAt !== null && body.escalation.nextStepAt === null, 'the operators are the last level');
      assert.equal(body.events, undefined, 'no audit events of the tenant');
      assert.ok(!detail.body.includes('auth.login_failed'));
      const opsTrail = await t.app.audit.query('operators', { count: 20, actions: ['audit.read'] });
      assert.ok(opsTrail.some((e) => e.actor.id === `operator:${operator.accountId}` && e.resources.includes(`Tenant/clinic/Alert/${alert.id}`)), 'the operators’ trail');
      const clinicTrail = await t.app.audit.query('clinic', { count: 20, actions: ['audit.read'] });
      assert.ok(clinicTrail.some((e) => e.actor.id === `operator:${operator.accountId}` && e.resources.includes(`Alert/${alert.id}`)), 'the tenant’s trail: who looked at its alert');
    });

    it('an operator acknowledges it: the tenant’s alert stops escalating, both trails say who did it', async () => {
      const alert = await escalatedAlert('Account/usr_ack');
      const acked = await post(operator, `/platform/alerts/escalated/clinic/${alert.id}/acknowledge`);
      assert.equal(acked.statusCode, 200, acked.body);
      assert.equal(json(acked).state, 'acknowledged');
      const stored = (await t.app.alerts.get('clinic', alert.id)).alert;
      assert.deepEqual([stored.state, stored.acknowledgedBy], ['acknowledged', `operator:${operator.accountId}`]);
      const [tenantEvent] = await t.app.audit.query('clinic', { count: 1, actions: ['alert.acknowledged'] });
      assert.deepEqual([tenantEvent?.actor.id, tenantEvent?.actor.role, tenantEvent?.resources], [`operator:${operator.accountId}`, 'operator', [`Alert/${alert.id}`]]);
      const [opsEvent] = await t.app.audit.query('operators', { count: 1, actions: ['alert.acknowledged'] });
      assert.deepEqual(opsEvent?.resources, ['Tenant/clinic', `Alert/${alert.id}`]);
      assert.equal((await post(operator, `/platform/alerts/escalated/clinic/${alert.id}/acknowledge`)).statusCode, 409);
      const listed = json(await get(operator, '/platform/alerts/escalated?state=acknowledged')).alerts as Array<{ id: string }>;
      assert.ok(listed.some((a) => a.id === alert.id));
      base.advance(60 * minute);
      await round();
      assert.equal(mailsOf(alert.id).length, 2, 'no mail after the acknowledgement');
    });

    it('is never stale: a change made where no listener hears (another process) shows on the next read', async () => {
      const alert = await escalatedAlert('Account/usr_elsewhere');
      const elsewhere = createAlerts({ storage: t.app.storage, clock, audit: t.app.audit, rules, dedupMs: 60 * minute });
      await elsewhere.resolve('clinic', alert.id, { actor: { id: 'account:usr_admin', role: 'tenant-admin', client: 'session' }, requestId: 'r', sourceIp: '127.0.0.1' }, 'Private note of the clinic: the front desk PC.');
      const detail = await get(operator, `/platform/alerts/escalated/clinic/${alert.id}`);
      assert.equal(json(detail).state, 'resolved', 're-read from the tenant');
      assert.ok(!detail.body.includes('Private note'), 'the clinic’s resolution note is not shown to operators');
      const open = json(await get(operator, '/platform/alerts/escalated?state=open')).alerts as Array<{ id: string }>;
      assert.ok(!open.some((a) => a.id === alert.id), 'and the stored state followed');
    });

    it('refuses others and what did not reach the operators', async () => {
      const notEscalated = await t.app.alerts.raise('clinic', 'auth.brute-force', finding('Account/usr_fresh'));
      const platformAlert = await t.app.alerts.raise('operators', 'auth.brute-force', finding('Account/op_1'));
      assert.equal(errorCode(await get(operator, `/platform/alerts/escalated/clinic/${notEscalated.id}`)), 'alert-not-found');
      assert.equal((await post(operator, `/platform/alerts/escalated/clinic/${notEscalated.id}/acknowledge`)).statusCode, 404);
      assert.equal((await get(operator, `/platform/alerts/escalated/operators/${platformAlert.id}`)).statusCode, 404);
      assert.equal((await get(operator, '/platform/alerts/escalated/NOT_A_TENANT/x')).statusCode, 400);
      assert.equal((await get(operator, '/platform/alerts/escalated?state=bad')).statusCode, 400);
      assert.equal((await get(operator, '/platform/alerts/escalated?before=2026-01-01T00:00:00Z')).statusCode, 400, 'a page token, not a date');
      assert.equal((await get(backups, '/platform/alerts/escalated')).statusCode, 403, 'a backup operator');
      assert.equal((await get(admin, '/platform/alerts/escalated')).statusCode, 401, 'a tenant session is no operator');
      assert.equal((await get(backups, '/platform/console/alerts/escalated/')).statusCode, 403);
    });

    it('pages by the escalation time and the alert: every record once', async () => {
      const all: string[] = [];
      let url: string | null = '/platform/alerts/escalated?limit=2';
      for (let i = 0; i < 20 && url !== null; i += 1) {
        const page: { alerts: Array<{ id: string }>; next: string | null } = json(await get(operator, url));
        all.push(...page.alerts.map((a) => a.id));
        url = page.next === null ? null : String(page.next).slice(publicUrl.length);
      }
      assert.ok(all.length >= 4);
      assert.equal(new Set(all).size, all.length, 'none twice');
      const everything = json(await get(operator, '/platform/alerts/escalated?limit=500')).alerts as Array<{ id: string }>;
      assert.deepEqual(all, everything.map((a) => a.id));
    });

    it('German pages: the runbook link says it is in English (text and hreflang), on the operators’ and the clinic’s alert pages', async () => {
      const [record] = json(await get(operator, '/platform/alerts/escalated?limit=1')).alerts as Array<{ id: string }>;
      const operatorPage = await get(operator, `/platform/console/alerts/escalated/clinic/${record?.id as string}?lang=de`);
      const clinicPage = await get(admin, `/tenants/clinic/console/alerts/${record?.id as string}?lang=de`);
      for (const page of [operatorPage, clinicPage]) {
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /<a href="\/runbooks\/auth\.brute-force" hreflang="en">Was bei dieser Regel zu prüfen und zu tun ist \(englisch\)<\/a>/);
      }
      const english = await get(admin, `/tenants/clinic/console/alerts/${record?.id as string}?lang=en`);
      assert.match(english.body, /<a href="\/runbooks\/auth\.brute-force" hreflang="en">What to check and do for this rule<\/a>/);
    });
  });
}

describe('a crash between the operators’ record and their mail', () => {
  it('no operator is mailed about an alert their list lacks: the record comes first, the step is repeated', async () => {
    const t = await startTestApp('sqlite', { detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } });
    try {
      await t.tenant('clinic');
      const base = fixedClock(new Date('2026-03-02T09:00:00Z'));
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email: 'ops@hosting.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
      await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
      const sent: Message[] = [];
      let failNext = true;
      const recorded: string[] = [];
      const escalation = createEscalation({
        storage: t.app.storage,
        clock: base,
        accounts: t.app.accounts,
        tenantName: async () => 'Clinic',
        notifier: { send: async (message) => void sent.push(message) },
        publicUrl,
        operatorRealm: 'operators',
        policy: { minutes: { critical: 5, high: 10, medium: 240, low: 0 }, mailFrom: 'medium' },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        async reachedOperators(alert) {
          if (failNext) {
            failNext = false;
            throw new Error('the platform data set is unreachable');
          }
          recorded.push(alert.id);
        },
      });
      const silent = createAlerts({ storage: t.app.storage, clock: base, audit: t.app.audit, rules, dedupMs: 60 * minute });
      const alert = await silent.raise('clinic', 'auth.brute-force', finding('Account/usr_crash'));
      // No active admin, no security contact: the first step passes on to the operators at once.
      await assert.rejects(escalation.run('clinic'), /unreachable/);
      assert.deepEqual(sent.map((m) => m.tenantId), [], 'the operators’ step stopped before its mail');
      await escalation.run('clinic');
      assert.deepEqual(recorded, [alert.id]);
      assert.deepEqual(sent.map((m) => m.tenantId), ['operators'], 'the step, repeated, reaches the operators once');
    } finally {
      await t.close();
    }
  });
});

describe('escalated alerts that reached the operators at the same instant', () => {
  it('page by the time, the tenant and the alert: each once', async () => {
    const t = await startTestApp('sqlite', { detection: { walkSeconds: 3600 } });
    try {
      for (const tenant of ['clinic-a', 'clinic-b']) await t.tenant(tenant);
      const escalated = createEscalatedAlerts({ storage: t.app.storage, alerts: t.app.alerts, audit: t.app.audit, operatorRealm: 'operators' });
      const at = Date.parse('2026-03-02T09:00:00Z');
      const keys: string[] = [];
      for (const tenant of ['clinic-a', 'clinic-b'])
        for (let i = 0; i < 3; i += 1) {
          const alert = await t.app.alerts.raise(tenant, 'auth.brute-force', finding(`Account/usr_${i}`));
          await escalated.reached(alert, at);
          keys.push(`${tenant}/${alert.id}`);
        }
      const seen: string[] = [];
      let after: { at: number; key: string } | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await escalated.list({ limit: 2, ...(after === undefined ? {} : { after }) });
        if (page.length === 0) break;
        seen.push(...page.map((v) => `${v.record.realm}/${v.record.alertId}`));
        const { record } = page.at(-1) as EscalatedView;
        after = { at: record.reachedAt, key: `${record.realm}/${record.alertId}` };
      }
      assert.deepEqual([...seen].sort(), [...keys].sort());
      assert.equal(new Set(seen).size, seen.length);
    } finally {
      await t.close();
    }
  });
});
