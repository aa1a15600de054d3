import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { invitationMessage } from '../../../src/identity/index.js';
import { tresorHere } from '../../support/cli.js';

// The outbox holds live setup and reset codes: listing it is audited always, and refused in
// production. A CLI matter, the same on both engines: SQLite only.
describe('tresor outbox', () => {
  let dataDir: string;
  let keyDir: string;
  let app: Tresor;
  let token: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-outbox-'));
    keyDir = mkdtempSync(join(tmpdir(), 'tresor-cli-outbox-key-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
    app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    const invited = await app.accounts.invite({ tenantId: 'acme', role: 'tenant-admin', email: 'new.admin@acme.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    token = invited.setupToken;
    await app.notifier.send(invitationMessage(invited.account, token, undefined));
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  const listings = () => app.audit.query('acme', { count: 10, actions: ['outbox.listed'] });

  it('development: lists the messages, and the listing is an audit event naming who ran it, never the codes', async () => {
    const listed = await tresorHere(['outbox', 'list', '--tenant', 'acme', '--data-dir', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(token));
    const events = await listings();
    assert.equal(events.length, 1);
    assert.match(events[0]?.actor.id ?? '', /^cli:/);
    assert.equal(events[0]?.outcome, 'success');
    assert.equal(events[0]?.detail, '1 message(s)', 'how many, never what');
    assert.ok(!JSON.stringify(events).includes(token), 'no code in the trail');
    assert.ok(!JSON.stringify(events).includes('new.admin@acme.example'), 'no address in the trail');
  });

  it('production: refused with a clear message and exit 1, nothing printed, and the refusal audited', async () => {
    // A valid production configuration for this data directory (the master key outside it).
    const keyFile = join(keyDir, 'master-key.json');
    copyFileSync(join(dataDir, 'master-key.json'), keyFile);
    const env = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_SQLITE_SYNCHRONOUS: 'FULL', TRESOR_MASTER_KEY_FILE: keyFile, TRESOR_PUBLIC_URL: 'https://vault.example' };
    const refused = await tresorHere(['outbox', 'list', '--tenant', 'acme', '--data-dir', dataDir, '--json'], env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.ok(!refused.stdout.includes(token) && !refused.stderr.includes(token), 'no code shown');
    assert.match(refused.stderr, /production/);
    assert.match(refused.stderr, /mail\.smtp\.host \(TRESOR_SMTP_HOST\)/, 'says what to do instead');
    const events = await listings();
    assert.equal(events[0]?.outcome, 'failure');
    assert.match(events[0]?.actor.id ?? '', /^cli:/);
  });
});
