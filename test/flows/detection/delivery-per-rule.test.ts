import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { rules } from '../../../src/detection/index.js';
import { certificateFiles } from '../../support/certificates.js';
import { makeInstall } from '../../support/fim-install.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, testPassword, type Person } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type ReceivedMail, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';
import { proofThresholds, rival, setUpTenant, tenant, triggers, until, type ProofContext } from './triggers.js';

const publicUrl = 'https://vault.clinic.example';
const from = 'Tresor <tresor@vault.example>';
const adminEmail = 'the.admin@clinic.example';
const operatorEmail = 'ops@vault.example';
const jsonHeaders = { 'content-type': 'application/json' };
// Monday 2 March 2026, 18:00 UTC: within the tenant's working hours; the after-hours read moves it on.
const start = Date.parse('2026-03-02T18:00:00Z');

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The receiver's clock (the app's, as one deployment's machines share a time) when it arrived, in seconds. */
  readonly atSeconds: number;
}

interface AlertJson {
  readonly id: string;
  readonly rule: string;
  readonly realm: string;
  readonly severity: string;
  readonly count: number;
  readonly runbook: string;
}

/** A webhook receiver on loopback, one path per realm's endpoint; records every POST and answers 200. */
async function startReceiver(clockSeconds: () => number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), atSeconds: clockSeconds() });
      response.statusCode = 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The `Tresor-Signature` checked without Tresor's code: `v1=` HMAC-SHA-256 (hex) over `<timestamp>.<body>`, compared in constant time. */
function signatureVerifies(secret: string, hook: Received): boolean {
  const timestamp = String(hook.headers['tresor-timestamp']);
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${hook.body}`, 'utf8').digest('hex')}`);
  return String(hook.headers['tresor-signature'])
    .split(/[ ,]+/)
    .some((part) => Buffer.byteLength(part) === expected.length && timingSafeEqual(Buffer.from(part), expected));
}

describe('every detection rule brings its end-to-end proof', () => {
  it('each rule of src/detection/rules/index.ts has a trigger, each trigger a rule, in the realm its alerts belong to; an engine-bound one says why', () => {
    const ids = rules.map((r) => r.id);
    assert.deepEqual(ids.filter((id) => triggers[id] === undefined), [], 'a rule without a trigger in test/flows/detection/triggers.ts: add how its attack is sent');
    assert.deepEqual(Object.keys(triggers).filter((id) => !ids.includes(id)), [], 'a trigger for a rule that is not in the table');
    for (const rule of rules) {
      const trigger = triggers[rule.id];
      const platform = rule.kind === 'probe' || rule.realms === 'operators';
      assert.equal(trigger?.realm, platform ? 'platform' : 'tenant', `${rule.id}: its alerts are the ${platform ? 'platform' : 'tenant'}'s`);
      if (trigger?.only !== undefined) {
        assert.ok(['sqlite', 'postgres'].includes(trigger.only.engine), `${rule.id}: an engine`);
        assert.ok(trigger.only.reason.length >= 80, `${rule.id}: proven on ${trigger.only.engine} only needs its reason, and where the rest is proven`);
      }
    }
    // Engine-bound proofs are the exception, each one named here when it is added.
    assert.deepEqual(Object.entries(triggers).filter(([, t]) => t.only !== undefined).map(([id]) => id), ['platform.replication']);
  });
});

/**
 * Each rule end to end, as the issue asks: the attack sent as a real client sends it (or, for a
 * probe, the real condition caused) → the alert stored, read back through the alerts API → a
 * webhook POST for it at the realm's registered endpoint whose signature verifies against the
 * secret shown at registration (checked here with node:crypto alone) and whose timestamp is
 * within the 5-minute replay window → a mail through a real SMTP relay (aiosmtpd, STARTTLS) to
 * the right person (the tenant's admin; the platform operator), with the alert's link and its
 * runbook link — and nowhere a password, key, token, code, typed reason or record content.
 * One server per engine; escalation set so that every severity is mailed at once and never
 * escalates (each alert reaches exactly its first level).
 */
for (const engine of engines()) {
  describe(`each rule end to end: attack → alert → signed webhook and mail [${engine}]`, { skip: smtpSkipReason() }, () => {
    let scratch: string;
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let t: TestApp;
    let operator: Person;
    let admin: Person;
    let auditorKey: string;
    let ctx: ProofContext;
    const secrets = { tenant: '', platform: '' };
    let now = start;
    const clock = { now: () => new Date((now += 1)) };
    let counter = 0;

    const realmOf = (kind: 'tenant' | 'platform') => (kind === 'platform' ? 'operators' : tenant);
    const hookPath = (realm: string) => `/hooks/${realm}`;
    const drain = async (realm: string) => {
      await t.app.escalation?.run(realm);
      await t.app.mail?.settled();
      await t.app.alertDelivery.deliverDue(realm);
    };
    const evaluateAll = async () => {
      for (const realm of [tenant, rival, 'operators']) await t.app.detection?.evaluate(realm);
    };
    /** The alerts of a rule as the alerts API lists them: an auditor's API key for the tenant, the operator's session for the platform. */
    const listed = async (realm: string, rule: string): Promise<AlertJson[]> => {
      const path = `${realm === 'operators' ? '/platform' : `/tenants/${tenant}`}/alerts?rule=${encodeURIComponent(rule)}&limit=500`;
      const answer = realm === 'operators' ? await as(t, operator, { method: 'GET', url: path }) : await t.inject({ method: 'GET', url: path, key: auditorKey });
      assert.equal(answer.statusCode, 200, answer.body);
      return json<{ alerts: AlertJson[] }>(answer).alerts;
    };

    before(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'tresor-proof-'));
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      receiver = await startReceiver(() => Math.floor(now / 1000));
      const installDir = makeInstall(scratch);
      // The certificate the server presents expires five days after the start: certificate-expiry is real.
      const served = await certificateFiles(scratch, 'vault.clinic.example', 5, start);
      // The backup repository under a plain file: every run fails, and no snapshot is ever taken.
      const notADirectory = join(scratch, 'not-a-directory');
      writeFileSync(notADirectory, 'not a repository');
      t = await startTestApp(
        engine,
        {
          server: { publicUrl, tls: { enabled: true, ...served } },
          // The after-hours read moves the clock on by 90 minutes: the operator's session outlives it.
          identity: { sessionIdleMinutes: 240 },
          mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } },
          detection: {
            walkSeconds: 3600,
            rules: proofThresholds,
            // Every severity mailed at once to the first level, none escalated (0): each alert reaches exactly its recipient.
            escalation: { critical: 0, high: 0, medium: 0, low: 0, mailFrom: 'low', checkSeconds: 3600 },
          },
          backup: { repository: join(notADirectory, 'repo'), key: generateBackupKey(), schedule: true, everyMinutes: 15 },
          fim: { enabled: true, installDir },
        },
        { clock, backupSchedule: { everyMs: 1e9, drillEveryMs: 1e9, firstAfterMs: 1e9 }, fimSchedule: { firstAfterMs: 1, everyMs: 1000 } },
      );
      const setUp = await setUpTenant(t, () => now);
      auditorKey = setUp.auditorKey;
      admin = setUp.admin;
      operator = await signInOperator(t, 'operator', operatorEmail, () => now);
      // The webhook endpoints, registered as their owners do: the tenant's admin, the platform's operator.
      const tenantHook = await as(t, setUp.admin, { method: 'POST', url: `/tenants/${tenant}/alerts/webhooks`, body: { url: `${receiver.url}/${tenant}`, description: 'Clinic SOC' }, headers: jsonHeaders });
      assert.equal(tenantHook.statusCode, 201, tenantHook.body);
      secrets.tenant = json<{ secret: string }>(tenantHook).secret;
      const platformHook = await as(t, operator, { method: 'POST', url: '/platform/alerts/webhooks', body: { url: `${receiver.url}/operators`, description: 'Hosting on-call' }, headers: jsonHeaders });
      assert.equal(platformHook.statusCode, 201, platformHook.body);
      secrets.platform = json<{ secret: string }>(platformHook).secret;
      // PostgreSQL's schemas are reached by the CLI through a config file, as an operator's would be.
      let cliArgs = ['--data-dir', t.dataDir];
      if (engine === 'postgres') {
        const file = join(scratch, 'cli.json');
        writeFileSync(file, JSON.stringify({ server: { tls: { enabled: false } }, fim: { enabled: false }, storage: { engine: 'postgres', postgres: { url: process.env['TRESOR_TEST_PG_URL'], schemaPrefix: t.schemaPrefix } } }));
        cliArgs = [...cliArgs, '--config', file];
      }
      ctx = {
        t,
        engine,
        publicUrl,
        now: () => now,
        advance: (ms) => void (now += ms),
        admin: setUp.admin,
        serviceKey: setUp.serviceKey,
        patients: setUp.patients,
        practitioner: setUp.practitioner,
        installDir,
        cliArgs,
        secrets: [testPassword, setUp.serviceKey, auditorKey, secrets.tenant, secrets.platform, 'Muster', 'Müller', 'A123456789'],
        unique: (prefix) => `${prefix}${(counter += 1)}`,
      };
      // The file integrity check made its baseline at the start (before any trigger changes a file).
      await until(() => (t.logs.some((line) => line.includes('"event":"fim.baselined"')) ? true : undefined), 'the file integrity baseline');
      // What the set-up raised is delivered before the first trigger, so that each proof sees its own.
      await evaluateAll();
      for (const realm of [tenant, 'operators']) await drain(realm);
    });
    after(async () => {
      await t?.close();
      await receiver?.close();
      await relay?.stop();
      if (cert !== undefined) rmSync(cert.dir, { recursive: true, force: true });
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    });

    async function proveDelivery(realm: string, ruleId: string, alert: AlertJson, fresh: boolean): Promise<void> {
      const platform = realm === 'operators';
      const alertLink = `${publicUrl}${platform ? '/platform/console/alerts/' : `/tenants/${tenant}/console/alerts/`}${alert.id}`;
      const runbook = `${publicUrl}/runbooks/${ruleId}`;
      assert.equal(alert.runbook, runbook, 'the API links the rule’s runbook');
      const never = (what: string, text: string) => {
        for (const secret of ctx.secrets) assert.ok(!text.includes(secret), `${what} of ${ruleId} carries something it must not (${secret.slice(0, 12)}…)`);
      };

      // The webhook: at this realm's endpoint (never the other's), signed with its secret, fresh.
      const payloadOf = (hook: Received) => JSON.parse(hook.body) as Record<string, unknown>;
      const hooks = await until(async () => {
        await drain(realm);
        const got = receiver.received.filter((r) => r.path === hookPath(realm) && payloadOf(r)['id'] === alert.id);
        return got.length > 0 ? got : undefined;
      }, `a webhook for ${ruleId}`);
      assert.equal(receiver.received.filter((r) => r.path !== hookPath(realm) && r.body.includes(alert.id)).length, 0, 'not at the other realm’s endpoint');
      if (fresh) assert.ok(hooks.some((hook) => payloadOf(hook)['kind'] === 'raised'), `${ruleId}: a new alert is posted as raised`);
      for (const hook of hooks) {
        assert.ok(signatureVerifies(platform ? secrets.platform : secrets.tenant, hook), `the signature of ${ruleId}'s webhook verifies against the secret shown at registration`);
        assert.ok(!signatureVerifies(platform ? secrets.tenant : secrets.platform, hook), 'and not against the other endpoint’s');
        const timestamp = Number(hook.headers['tresor-timestamp']);
        assert.ok(Number.isInteger(timestamp) && Math.abs(hook.atSeconds - timestamp) <= 300, `timestamp within the 5-minute replay window (${timestamp} received at ${hook.atSeconds})`);
        const payload = payloadOf(hook);
        assert.deepEqual([payload['rule'], payload['realm'], payload['url'], payload['runbook']], [ruleId, realm, alertLink, runbook]);
        never('the webhook', hook.body);
      }

      // The mail: to the first level only (the tenant's admin; the platform's operator), with both links.
      const mails = await until(async () => {
        await drain(realm);
        const got = relay.received().filter((m) => m.text.includes(alert.id));
        return got.length > 0 ? got : undefined;
      }, `a mail for ${ruleId}`);
      for (const mail of mails as ReceivedMail[]) {
        assert.deepEqual(mail.rcptTos, [platform ? operatorEmail : adminEmail], `${ruleId}: mailed to the ${platform ? 'operator' : 'tenant admin'}`);
        assert.equal(mail.tls, true);
        assert.match(mail.subject, /^\[Tresor (LOW|MEDIUM|HIGH|CRITICAL)\] /);
        assert.match(mail.text, new RegExp(`^Regel / Rule: ${ruleId.replace(/\./g, '\\.')} – `, 'm'));
        assert.ok(mail.text.includes(`Alarm ansehen / View the alert: ${alertLink}`), `${ruleId}: the alert's link in the text`);
        assert.ok(mail.text.includes(`Runbook: ${runbook}`), `${ruleId}: the runbook's link in the text`);
        assert.ok(mail.html?.includes(`href="${alertLink}"`) && mail.html.includes(`href="${runbook}"`), `${ruleId}: both links in the HTML`);
        never('the mail', `${mail.subject}\n${mail.text}\n${mail.html ?? ''}`);
      }

      // Both links lead somewhere: the runbook page, and the alert's page for the person the mail went to.
      const runbookPage = await t.inject({ method: 'GET', url: new URL(runbook).pathname });
      assert.equal(runbookPage.statusCode, 200, `${ruleId}: the runbook page`);
      assert.ok(runbookPage.body.includes(ruleId));
      const alertPage = await as(t, platform ? operator : admin, { method: 'GET', url: new URL(alertLink).pathname });
      assert.equal(alertPage.statusCode, 200, `${ruleId}: the alert's page (${alertPage.statusCode})`);
      assert.ok(alertPage.body.includes(ruleId), `${ruleId}: the alert's page shows its rule`);
    }

    for (const [ruleId, trigger] of Object.entries(triggers)) {
      const skip = trigger.only !== undefined && trigger.only.engine !== engine ? `${ruleId} is proven on ${trigger.only.engine}: ${trigger.only.reason}` : false;
      it(`${ruleId}: the attack raises it, a signed webhook and a mail reach the ${trigger.realm === 'platform' ? 'operator' : 'tenant admin'}`, { skip }, async () => {
        const realm = realmOf(trigger.realm);
        const before = new Map((await listed(realm, ruleId)).map((a) => [a.id, a.count]));
        await trigger.run(ctx);
        await evaluateAll();
        // The alerts this trigger raised, or joined (a probe rule's condition may have shown in an earlier round).
        const caused = (await listed(realm, ruleId)).filter((a) => a.count > (before.get(a.id) ?? 0));
        assert.ok(caused.length > 0, `${ruleId}: no alert after its attack`);
        for (const alert of caused) {
          assert.deepEqual([alert.rule, alert.realm], [ruleId, realm]);
          await proveDelivery(realm, ruleId, alert, !before.has(alert.id));
        }
      });
    }

    it('everything the run sent — every mail, every webhook, the side effects’ alerts included — is signed, addressed to its realm’s people and free of what the attacks typed or read', async () => {
      const mails = relay.received();
      const proven = Object.values(triggers).filter((trigger) => trigger.only === undefined || trigger.only.engine === engine).length;
      assert.ok(mails.length >= proven && receiver.received.length >= proven, `${mails.length} mails, ${receiver.received.length} webhooks for ${proven} rules`);
      for (const mail of mails) {
        assert.ok([[adminEmail], [operatorEmail]].some((to) => JSON.stringify(to) === JSON.stringify(mail.rcptTos)), `mailed to ${mail.rcptTos.join(', ')}`);
        for (const secret of ctx.secrets) assert.ok(!`${mail.subject}\n${mail.text}\n${mail.html ?? ''}`.includes(secret), `a mail carries ${secret.slice(0, 12)}…`);
      }
      for (const hook of receiver.received) {
        assert.ok(signatureVerifies(hook.path === hookPath('operators') ? secrets.platform : secrets.tenant, hook));
        for (const secret of ctx.secrets) assert.ok(!hook.body.includes(secret), `a webhook carries ${secret.slice(0, 12)}…`);
      }
    });
  });
}
