import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createSmtpTransport, type SmtpSettings } from '../../../src/mail/index.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type TestCertificate } from '../../support/smtp.js';

/** The SMTP transport against aiosmtpd: TLS as configured, the certificate verified, refusals reported. */
describe('SMTP transport', { skip: smtpSkipReason() }, () => {
  let cert: TestCertificate;
  before(() => {
    cert = makeCertificate();
  });
  after(() => rmSync(cert.dir, { recursive: true, force: true }));
  const settings = (port: number, over: Partial<SmtpSettings> = {}): SmtpSettings => ({
    host: '127.0.0.1',
    port,
    security: 'starttls',
    from: 'tresor@clinic.example',
    caFile: cert.certFile,
    connectionTimeoutMs: 3000,
    greetingTimeoutMs: 3000,
    socketTimeoutMs: 5000,
    ...over,
  });
  const mail = { to: 'someone@clinic.example', subject: 'Grüße / Greetings', text: 'Hallo\nHello', html: '<p>Hallo</p>' };

  it('implicit TLS (RFC 8314) delivers under TLS', async () => {
    const relay = await startSmtpRelay({ implicitTls: cert });
    try {
      const transport = await createSmtpTransport(settings(relay.port, { security: 'tls' }));
      await transport.send(mail);
      transport.close();
      const [received] = await relay.waitFor(1);
      assert.deepEqual([received?.tls, received?.subject, received?.text.replace(/\r\n/g, '\n').trim(), received?.html?.trim()], [true, 'Grüße / Greetings', 'Hallo\nHello', '<p>Hallo</p>']);
    } finally {
      await relay.stop();
    }
  });

  it('a relay certificate Tresor was not told to trust fails the send (no unverified TLS)', async () => {
    const relay = await startSmtpRelay({ tls: cert });
    try {
      const { caFile: _ignored, ...untrusted } = settings(relay.port);
      const transport = await createSmtpTransport(untrusted);
      await assert.rejects(transport.send(mail), (error: { code?: string }) => error.code === 'ESOCKET' || error.code === 'ETLS');
      transport.close();
      assert.deepEqual(relay.received(), []);
    } finally {
      await relay.stop();
    }
  });

  it('a refused recipient is an error with the SMTP code, so the notifier keeps the message', async () => {
    const relay = await startSmtpRelay({ tls: cert, refuse: true });
    try {
      const transport = await createSmtpTransport(settings(relay.port));
      await assert.rejects(transport.send(mail), (error: { code?: string; responseCode?: number }) => error.code === 'EENVELOPE' && error.responseCode === 550);
      transport.close();
    } finally {
      await relay.stop();
    }
  });
});
