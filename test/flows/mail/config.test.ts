import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';

/** The relay settings: safe in production, the password never in the config file. */
describe('mail.smtp settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-mail-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A production configuration that passes every other check.
  const production = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_MASTER_KEY_FILE: '/etc/tresor/master-key.json', TRESOR_PUBLIC_URL: 'https://vault.example', TRESOR_DATA_DIR: dir };
  const relay = { TRESOR_SMTP_HOST: 'mail.example', TRESOR_SMTP_FROM: 'tresor@vault.example' };

  it('defaults: no relay (the outbox), STARTTLS required when one is set', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.mail.smtp.host, undefined);
    assert.equal(config.mail.smtp.security, 'starttls');
    assert.equal(loadConfig({ env: { ...production, ...relay } }).mail.smtp.host, 'mail.example');
  });

  it('production refuses security=none (RFC 8314), development allows it for a relay on loopback', () => {
    assert.throws(() => loadConfig({ env: { ...production, ...relay, TRESOR_SMTP_SECURITY: 'none' } }), /config\.mail\.smtp\.security: production sends mail over TLS only/);
    assert.equal(loadConfig({ env: { ...relay, TRESOR_SMTP_SECURITY: 'none' } }).mail.smtp.security, 'none');
    assert.throws(() => loadConfig({ env: { ...relay, TRESOR_SMTP_SECURITY: 'ssl' } }), /config\.mail\.smtp\.security \(from TRESOR_SMTP_SECURITY\)/);
  });

  it('the password comes from TRESOR_SMTP_PASSWORD or a file, never from the config file', () => {
    const file = join(dir, 'tresor.json');
    writeFileSync(file, JSON.stringify({ mail: { smtp: { host: 'mail.example', from: 'tresor@vault.example', user: 'tresor', password: 'in clear' } } }));
    assert.throws(() => loadConfig({ file, env: {} }), /config\.mail\.smtp\.password is not read from the config file/);
    writeFileSync(file, JSON.stringify({ mail: { smtp: { host: 'mail.example', from: 'tresor@vault.example', user: 'tresor' } } }));
    assert.throws(() => loadConfig({ file, env: {} }), /mail\.smtp\.user needs a password/);
    assert.equal(loadConfig({ file, env: { TRESOR_SMTP_PASSWORD: 'from the environment' } }).mail.smtp.password, 'from the environment');
    assert.equal(loadConfig({ file, env: { TRESOR_SMTP_PASSWORD_FILE: '/run/secrets/smtp' } }).mail.smtp.passwordFile, '/run/secrets/smtp');
  });

  it('a relay needs a sender', () => {
    assert.throws(() => loadConfig({ env: { TRESOR_SMTP_HOST: 'mail.example' } }), /config\.mail\.smtp\.from: required with mail\.smtp\.host/);
  });
});
