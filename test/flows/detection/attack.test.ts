import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { rules } from '../../../src/detection/index.js';
import { freePort } from '../../support/oauth.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));


/**
 * The red-team replay (`npm run attack`) against a real `tresor start` on loopback, with the
 * rules' default thresholds: every attack it sends is caught by the rule meant for it, and a
 * tenant admin sees the alerts on the console's alerts page.
 */
describe('npm run attack against a running server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tresor-attack-'));
  // Children of a `node --test` process must not believe they are test files themselves.
  const { NODE_TEST_CONTEXT: _context, ...inherited } = process.env;
  const env = { ...inherited, TRESOR_TLS: 'false', TRESOR_LOG_LEVEL: 'warn' };
  let server: ChildProcess;
  let base: string;
  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'start', '--data-dir', dataDir, '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      server.stderr?.on('data', (chunk) => {
        stderr += String(chunk);
        if (/listening on/.test(stderr)) resolve();
      });
      server.once('exit', () => reject(new Error(`the server exited: ${stderr}`)));
    });
  });
  after(async () => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('catches every replayed attack with the rule meant for it, and the console lists them', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(root, 'scripts/attack.ts'), '--url', base, '--data-dir', dataDir, '--wait', '90'], { env: { ...env, TRESOR_ATTACK_SOURCE: '1' }, timeout: 300_000 }, (error, out, err) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout: out, stderr: err }));
    });
    const table = stdout.split('\n').filter((line) => /^\| [a-z]/.test(line) && !line.startsWith('| attack '));
    assert.ok(table.length >= 10, `the table of attacks:\n${stdout}\n${stderr}`);
    for (const row of table) assert.match(row, /\| yes \|/, `missed:\n${row}\n\n${stdout}`);
    assert.equal(code, 0, stdout);
    const tenant = /tenants (attack-[0-9a-f]{6}) and/.exec(stdout)?.[1] as string;
    assert.ok(tenant !== undefined);

    // A tenant admin of the attacked tenant opens the console's alerts page.
    const cli = (...args: string[]) =>
      new Promise<string>((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), ...args, '--data-dir', dataDir], { env }, (error, out) => (error === null ? resolve(out.trimEnd().split('\n').at(-1) ?? '') : reject(error))));
    const token = await cli('user', 'create', '--tenant', tenant, '--role', 'tenant-admin', '--email', 'admin@attack.example');
    const password = 'a long passphrase for the admin here';
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post(`/tenants/${tenant}/auth/setup`, { token, password })).status, 200);
    const login = await post(`/tenants/${tenant}/auth/login`, { email: 'admin@attack.example', password });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const page = await fetch(`${base}/tenants/${tenant}/console/alerts/`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const html = await page.text();
    for (const id of ['auth.brute-force', 'access.mass-read', 'access.emergency', 'change.role']) {
      const title = rules.find((r) => r.id === id)?.title as string;
      assert.ok(html.includes(title), `the alerts page shows "${title}"`);
    }
  });
});
