import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { cliMain as main, tresor, tresorHere } from '../../support/cli.js';

describe('tresor CLI', () => {
  let dataDir: string;
  let app: Tresor;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-'));
    assert.equal(tresor(['tenant', 'create', 'acme', '--name', 'Acme Clinic', '--data-dir', dataDir]).code, 0);
    // The server runs on the same data directory while the admin commands below work on it.
    app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, lists and refuses duplicate or malformed tenants', async () => {
    const again = await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);
    const bad = await tresorHere(['tenant', 'create', 'Bad_Id', '--data-dir', dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /lowercase/);
    const list = await tresorHere(['tenant', 'list', '--data-dir', dataDir]);
    assert.match(list.stdout, /^acme\tactive\t.*\tAcme Clinic$/m);
  });

  it('prints a new API key as the last line, usable at once by the running server', async () => {
    const created = tresor(['apikey', 'create', '--tenant', 'acme', '--role', 'service-reader', '--data-dir', dataDir]);
    assert.equal(created.code, 0);
    const lines = created.stdout.trimEnd().split('\n');
    const key = lines[lines.length - 1] as string;
    assert.match(key, /^tresor_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const response = await app.http.inject({ method: 'GET', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.statusCode, 200);
    assert.equal((await tresorHere(['apikey', 'create', '--tenant', 'acme', '--role', 'superuser', '--data-dir', dataDir])).code, 1);
    assert.equal((await tresorHere(['apikey', 'create', '--tenant', 'nope', '--role', 'service', '--data-dir', dataDir])).code, 2);

    const id = /^tresor_sk_([0-9a-f]{16})_/.exec(key)?.[1] as string;
    assert.match((await tresorHere(['apikey', 'list', '--tenant', 'acme', '--data-dir', dataDir])).stdout, new RegExp(`^${id}\tservice-reader\tactive`, 'm'));
    // Revoked by another process: the running server refuses the key at once.
    assert.equal(tresor(['apikey', 'revoke', id, '--data-dir', dataDir]).code, 0);
    assert.equal((await app.http.inject({ method: 'GET', url: '/tenants/acme/fhir/Patient', headers: { authorization: `Bearer ${key}` } })).statusCode, 401);
  });

  it('disables a tenant for the running server', async () => {
    assert.equal((await tresorHere(['tenant', 'create', 'beta', '--data-dir', dataDir])).code, 0);
    const key = (await tresorHere(['apikey', 'create', '--tenant', 'beta', '--role', 'service', '--data-dir', dataDir])).stdout.trimEnd().split('\n').pop() as string;
    assert.equal(tresor(['tenant', 'disable', 'beta', '--data-dir', dataDir]).code, 0);
    const response = await app.http.inject({ method: 'GET', url: '/tenants/beta/fhir/Patient', headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.statusCode, 403);
  });

  it('prints the data register, honest about what is enforced, and generates master key rings', async () => {
    const register = await tresorHere(['register', '--json']);
    assert.equal(register.code, 0);
    const parsed = JSON.parse(register.stdout) as { fieldEncryptionEnforced: boolean; fields: Array<{ field: string; class: string }> };
    assert.equal(parsed.fieldEncryptionEnforced, true);
    assert.equal(parsed.fields.find((f) => f.field === 'Patient.name')?.class, 'personal');
    assert.equal(parsed.fields.find((f) => f.field === 'Observation.value[x]')?.class, 'health');
    assert.doesNotMatch((await tresorHere(['register'])).stdout, /not enforced/);
    const ring = JSON.parse((await tresorHere(['keys', 'generate-master'])).stdout.trimEnd().split('\n').pop() as string) as { keys: Record<string, string> };
    assert.equal(Buffer.from(ring.keys['1'] as string, 'base64').length, 32);
  });

  it('shreds a patient for the running server at once', async () => {
    const key = (await tresorHere(['apikey', 'create', '--tenant', 'acme', '--role', 'service', '--data-dir', dataDir])).stdout.trimEnd().split('\n').pop() as string;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' };
    const created = await app.http.inject({ method: 'POST', url: '/tenants/acme/fhir/Patient', headers, payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Gone' }] }) });
    const id = (JSON.parse(created.body) as { id: string }).id;
    assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers })).statusCode, 200);
    // The patient's own account, with a password and a live session.
    const email = 'gone.patient@acme.example';
    const password = 'seven hungry otters swim the fjord';
    const { account, setupToken } = await app.accounts.invite({ tenantId: 'acme', role: 'patient', email, patient: `Patient/${id}`, by: { id: 'cli:test', role: 'operator', client: 'test' } });
    await app.accounts.completeSetup({ tenantId: 'acme', token: setupToken, password, sourceIp: '127.0.0.1' });
    await app.tenants.setMfaPolicy('acme', 'optional');
    const login = await app.http.inject({ method: 'POST', url: '/tenants/acme/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) });
    const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
    assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers: { cookie } })).statusCode, 200);

    const shred = tresor(['keys', 'shred', '--tenant', 'acme', '--subject', `Patient/${id}`, '--data-dir', dataDir]);
    assert.equal(shred.code, 0, shred.stderr);
    assert.match(shred.stdout, /1 key version\(s\) destroyed, 1 record\(s\) marked erased, 1 account\(s\) erased/);
    assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers })).statusCode, 410);
    // GDPR Art. 17 reaches the account: gone, its session with it, its email no longer known.
    assert.equal(await app.accounts.get('acme', account.id), undefined);
    assert.equal((await app.http.inject({ method: 'GET', url: `/tenants/acme/fhir/Patient/${id}`, headers: { cookie } })).statusCode, 401);
    const again = await app.http.inject({ method: 'POST', url: '/tenants/acme/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) });
    assert.equal(again.statusCode, 401);
    const erasedEvents = await app.audit.query('acme', { count: 5, actions: ['account.erased'] });
    assert.deepEqual(erasedEvents.map((e) => [e.resources, e.subjects]), [[[`Account/${account.id}`], [`Patient/${id}`]]]);
    assert.equal((await tresorHere(['keys', 'shred', '--tenant', 'acme', '--subject', '_tenant', '--data-dir', dataDir])).code, 1, 'the tenant key is not a subject');
  });

  it('keeps the master key ring owner-only and refuses to start when it is not', async () => {
    const file = join(dataDir, 'master-key.json');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'created at first start, owner-only');
    chmodSync(file, 0o640);
    const refused = await tresorHere(['tenant', 'list', '--data-dir', dataDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /readable by group or others; run chmod 600/);
    chmodSync(file, 0o600);
    assert.equal((await tresorHere(['tenant', 'list', '--data-dir', dataDir])).code, 0);
  });

  it('names the exact setting when the configuration is wrong, and refuses unsafe production settings', async () => {
    // A second process: the exit code (EX_CONFIG) reaches the shell.
    const port = tresor(['tenant', 'list', '--data-dir', dataDir], { TRESOR_PORT: 'eighty' });
    assert.equal(port.code, 78);
    assert.match(port.stderr, /config\.server\.port \(from TRESOR_PORT\)/);
    const production = await tresorHere(['start', '--data-dir', dataDir], { TRESOR_MODE: 'production', TRESOR_TLS: 'off' });
    assert.equal(production.code, 78);
    assert.match(production.stderr, /config\.server\.tls\.enabled/);
    assert.equal((await tresorHere(['start', '--port', 'abc'])).code, 2);
    assert.equal((await tresorHere(['frobnicate'])).code, 2);
    assert.match((await tresorHere(['help'])).stdout, /tresor apikey create/);
  });

  it('starts over HTTPS, prints the certificate fingerprint and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'start', '--port', '0', '--data-dir', dataDir], { env: { PATH: process.env['PATH'] ?? '' } });
    let stderr = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
        const m = /listening on (https:\/\/\S+)/.exec(stderr);
        if (m !== null && /fingerprint/.test(stderr)) resolve(m[1] as string);
      });
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    assert.match(stderr, /SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const url = new URL('/healthz', address);
    const status = await new Promise<number>((resolve, reject) => {
      request(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(status, 200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  });

  it('the app sees tenants the CLI created (platform data is shared, data sets are separate)', async () => {
    const tenants = await app.tenants.list();
    assert.deepEqual(
      tenants.map((x) => x.id),
      ['acme', 'beta'],
    );
    assert.notEqual(tenants[0]?.dataSet, tenants[1]?.dataSet);
  });

  it('tresor client create prints the issuer of the server it configures: server.publicUrl, else localhost on server.port, and says which', async () => {
    const args = ['client', 'create', '--tenant', 'acme', '--name', 'Steps', '--publisher', 'Example', '--kind', 'public', '--redirect-uri', 'http://127.0.0.1:9/cb', '--scope', 'openid patient/Observation.rs', '--data-dir', dataDir];
    const onPort = await tresorHere([...args, '--port', '9443']);
    assert.equal(onPort.code, 0, onPort.stderr);
    assert.match(onPort.stdout, /issuer https:\/\/localhost:9443\/tenants\/acme\/oauth \(localhost on server\.port 9443[^)]*server\.publicUrl/);
    const published = await tresorHere(args, { TRESOR_PUBLIC_URL: 'https://vault.example.org' });
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /issuer https:\/\/vault\.example\.org\/tenants\/acme\/oauth$/m);
  });
});
