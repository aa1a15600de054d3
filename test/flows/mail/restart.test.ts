import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { invitationMessage } from '../../../src/identity/index.js';
import { freePort, makeCertificate, smtpSkipReason, startSmtpRelay, type TestCertificate } from '../../support/smtp.js';

/**
 * A message the relay did not take before the server stopped is still in the outbox, sealed, and
 * the next server's sweep (hourly, over every realm) delivers it: a restart loses nothing.
 */
describe('a message waiting for the relay survives a restart', { skip: smtpSkipReason() }, () => {
  let cert: TestCertificate;
  let dataDir: string;
  before(() => {
    cert = makeCertificate();
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-mail-restart-'));
  });
  after(() => {
    rmSync(cert.dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kept across the restart, delivered by the sweep', async () => {
    const port = await freePort();
    const config = loadConfig({
      env: {},
      overrides: { dataDir, server: { tls: { enabled: false }, publicUrl: 'https://vault.example' }, log: { level: 'silent' }, mail: { smtp: { host: '127.0.0.1', port, from: 'tresor@vault.example', caFile: cert.certFile, retryFirstSeconds: 1 } } },
    });
    const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    const first = await buildApp(config, { logDestination: quiet() });
    await first.tenants.create('acme');
    const { account, setupToken } = await first.accounts.invite({ tenantId: 'acme', role: 'tenant-admin', email: 'new.admin@acme.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    await first.notifier.send(invitationMessage(account, setupToken, config.server.publicUrl));
    await first.mail?.settled();
    assert.equal((await first.outbox.list('acme')).length, 1, 'the relay is down: kept');
    await first.close();

    const relay = await startSmtpRelay({ port, tls: cert });
    const second = await buildApp(config, { logDestination: quiet() });
    try {
      // The first server deferred it by retryFirstSeconds (doubled for each further failed try
      // it made before it stopped — on a busy machine there may have been one): the sweep sends
      // it once it is due, so sweep until the outbox is empty.
      const deadline = performance.now() + 20_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 250));
        await second.mail?.sweep('acme');
      } while ((await second.outbox.list('acme')).length > 0 && performance.now() < deadline);
      const [mail] = await relay.waitFor(1);
      assert.ok(mail?.text.includes(`https://vault.example/tenants/acme/account/setup?token=${setupToken}`));
      assert.deepEqual(await second.outbox.list('acme'), []);
    } finally {
      await second.close();
      await relay.stop();
    }
  });
});
