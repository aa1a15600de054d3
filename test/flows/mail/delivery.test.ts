import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInWithTotp, testPassword, type Person } from '../../support/people.js';
import { freePort, makeCertificate, smtpSkipReason, startSmtpRelay, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const base = '/tenants/clinic';
const jsonBody = { 'content-type': 'application/json' };
const publicUrl = 'https://vault.clinic.example';
const from = 'Tresor <tresor@clinic.example>';
const tokenIn = (text: string, page: 'setup' | 'reset') => new RegExp(`^${publicUrl.replace(/\./g, '\\.')}${base}/account/${page}\\?token=([A-Za-z0-9_-]{43})$`, 'm').exec(text)?.[1];

/**
 * Invitations and password resets reach people through a real SMTP relay (aiosmtpd) over
 * STARTTLS, which Tresor requires (RFC 3207; RFC 8314), verifying the relay's certificate against
 * the CA it was given. The person follows the link in the mail; nothing in the logs names them.
 */
for (const engine of engines()) {
  describe(`mail through an SMTP relay [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let admin: Person;
    const clock = fixedClock(new Date());
    const now = () => clock.now().getTime();
    const login = (email: string, password: string) => t.inject({ method: 'POST', url: `${base}/auth/login`, body: { email, password }, headers: jsonBody });

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(engine, { server: { publicUrl }, mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } } }, { clock });
      await t.tenant('clinic');
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'the.admin@clinic.example', now);
    });
    after(async () => {
      await t.close();
      await relay.stop();
      rmSync(cert.dir, { recursive: true, force: true });
    });

    it('an invitation arrives over STARTTLS, German first, links to the setup page, and its token sets the password', async () => {
      const invited = await as(t, admin, { method: 'POST', url: `${base}/accounts`, body: { role: 'tenant-admin', email: 'dr.weber@clinic.example' }, headers: jsonBody });
      assert.equal(invited.statusCode, 201, invited.body);
      const [mail] = await relay.waitFor(1);
      assert.ok(mail !== undefined);
      assert.equal(mail.tls, true, 'sent under STARTTLS');
      assert.deepEqual([mail.rcptTos, mail.to, mail.from], [['dr.weber@clinic.example'], 'dr.weber@clinic.example', from]);
      assert.equal(mail.subject, 'Ihr Tresor-Konto / Your Tresor account');
      assert.ok(mail.text.indexOf('Für Sie wurde ein Tresor-Konto') < mail.text.indexOf('An account was made for you'), 'German first');
      assert.match(mail.text, /innerhalb von 72 Stunden/);
      assert.match(mail.text, /within 72 hours/);
      const token = tokenIn(mail.text, 'setup');
      assert.ok(token !== undefined, `a link to ${publicUrl}${base}/account/setup?token=…: ${mail.text}`);
      assert.ok(!invited.body.includes(token), 'the answer holds no token');
      assert.ok(mail.html?.includes(`<a href="${publicUrl}${base}/account/setup?token=${token}">`), 'the HTML part links to the same page');
      assert.ok(!mail.text.includes('/auth/setup') && !mail.html?.includes('/auth/'), 'no JSON endpoint in the message');
      // Delivered: the outbox keeps no live token it no longer needs.
      await t.app.mail?.settled();
      assert.deepEqual(await t.app.outbox.list('clinic'), []);

      // The setup page is another part's; its form posts the token as the API does.
      const setup = await t.inject({ method: 'POST', url: `${base}/auth/setup`, body: { token, password: testPassword }, headers: jsonBody });
      assert.equal(setup.statusCode, 200, setup.body);
      assert.equal((await login('dr.weber@clinic.example', testPassword)).statusCode, 200);
      assertLogsKeepSecret(t, [token, 'dr.weber@clinic.example']);
    });

    it('a password reset arrives the same way, links to the reset page, says how long it is valid, and the new password signs in', async () => {
      const before = relay.received().length;
      const asked = await t.inject({ method: 'POST', url: `${base}/auth/password-reset`, body: { email: 'dr.weber@clinic.example' }, headers: jsonBody });
      assert.deepEqual([asked.statusCode, json(asked)], [202, { status: 'sent-if-known' }]);
      // The unknown address gets the same answer and no mail.
      const unknown = await t.inject({ method: 'POST', url: `${base}/auth/password-reset`, body: { email: 'nobody@clinic.example' }, headers: jsonBody });
      assert.deepEqual([unknown.statusCode, json(unknown)], [202, { status: 'sent-if-known' }]);
      await t.app.passwordResets.settled();
      await t.app.mail?.settled();
      const mails = await relay.waitFor(before + 1);
      assert.equal(mails.length, before + 1, 'one mail, for the known address only');
      const mail = mails[before];
      assert.ok(mail !== undefined);
      assert.deepEqual([mail.tls, mail.rcptTos], [true, ['dr.weber@clinic.example']]);
      assert.match(mail.text, /innerhalb von 30 Minuten/);
      assert.match(mail.text, /within 30 minutes/);
      const token = tokenIn(mail.text, 'reset');
      assert.ok(token !== undefined, mail.text);
      const newPassword = 'a brand new password for the reset';
      const confirmed = await t.inject({ method: 'POST', url: `${base}/auth/password-reset/confirm`, body: { token, password: newPassword }, headers: jsonBody });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal((await login('dr.weber@clinic.example', newPassword)).statusCode, 200);
      assert.equal((await login('dr.weber@clinic.example', testPassword)).statusCode, 401);
      assertLogsKeepSecret(t, [token, 'dr.weber@clinic.example', 'nobody@clinic.example']);
    });
  });
}

/**
 * The relay is down, then answers without STARTTLS, then properly: the invitation waits sealed
 * in the outbox, is retried with backoff, is never sent in clear, and arrives once the relay
 * speaks TLS. The admin's request does not fail and cannot lose it.
 */
describe('a relay that is down or refuses TLS: the message waits in the outbox and is retried', { skip: smtpSkipReason() }, () => {
  let cert: TestCertificate;
  let port: number;
  let t: TestApp;
  let admin: Person;
  const clock = fixedClock(new Date());
  const now = () => clock.now().getTime();
  before(async () => {
    cert = makeCertificate();
    port = await freePort();
    t = await startTestApp('sqlite', { server: { publicUrl }, mail: { smtp: { host: '127.0.0.1', port, security: 'starttls', from, caFile: cert.certFile, retryFirstSeconds: 1, connectionTimeoutMs: 2000, greetingTimeoutMs: 2000 } } }, { clock });
    await t.tenant('clinic');
    admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'the.admin@clinic.example', now);
  });
  after(async () => {
    await t.close();
    rmSync(cert.dir, { recursive: true, force: true });
  });

  it('kept, retried, never in clear, delivered when the relay is back', async () => {
    const answer = await as(t, admin, { method: 'POST', url: `${base}/accounts`, body: { role: 'tenant-admin', email: 'late.mail@clinic.example' }, headers: jsonBody });
    assert.equal(answer.statusCode, 201, 'the invitation is taken although the relay is down');
    await waitUntil(() => t.logs.some((line) => line.includes('"mail.deferred"'))).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${t.logs.filter((line) => line.includes('mail')).join('\n')}`);
    });
    const waiting = await t.app.outbox.list('clinic');
    assert.equal(waiting.length, 1, 'kept in the outbox');
    const token = /^([A-Za-z0-9_-]{43})$/m.exec(waiting[0]?.text ?? '')?.[1] as string;

    // A relay without STARTTLS: required, so nothing goes out in clear.
    const plain = await startSmtpRelay({ port });
    // nodemailer's code for "the server offers no STARTTLS" while TLS is required.
    await waitUntil(() => t.logs.some((line) => line.includes('"mail.deferred"') && line.includes('"code":"ETLS"')), 20_000);
    assert.deepEqual(plain.received(), [], 'nothing accepted without TLS');
    assert.equal((await t.app.outbox.list('clinic')).length, 1);
    await plain.stop();

    const relay = await startSmtpRelay({ port, tls: cert });
    try {
      const [mail] = await relay.waitFor(1, 40_000);
      assert.equal(mail?.tls, true);
      assert.equal(tokenIn(mail?.text ?? '', 'setup'), token, 'the same message, with its live token');
      await t.app.mail?.settled();
      assert.deepEqual(await t.app.outbox.list('clinic'), [], 'gone from the outbox once delivered');
      assert.equal((await t.inject({ method: 'POST', url: `${base}/auth/setup`, body: { token, password: testPassword }, headers: jsonBody })).statusCode, 200);
    } finally {
      await relay.stop();
    }
    assertLogsKeepSecret(t, [token, 'late.mail@clinic.example']);
  });
});

function assertLogsKeepSecret(t: TestApp, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!t.logs.some((line) => line.includes(secret)), `no log line holds ${secret.includes('@') ? 'the address' : 'the token'}`);
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
