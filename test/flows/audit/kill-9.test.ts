import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildCore } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { cliMain, tresor } from '../../support/cli.js';
import { dropPgSchemas, engines, observation, patient } from '../../support/harness.js';

function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'start', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null) resolve({ child, url: m[1] as string });
    });
    child.on('exit', () => reject(new Error(`server exited early: ${stderr}`)));
  });
}

for (const engine of engines()) {
  describe(`audit trail survives kill -9 under load [${engine}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-kill-'));
    const schemaPrefix = `k${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      TRESOR_DATA_DIR: dataDir,
      TRESOR_TLS: 'false',
      TRESOR_LOG_LEVEL: 'silent',
      ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: schemaPrefix } : {}),
    };
    after(async () => {
      if (engine === 'postgres') await dropPgSchemas(schemaPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('every response the client got has its event, and the chain verifies after the crash', async () => {
      assert.equal(tresor(['tenant', 'create', 'clinic'], env).code, 0);
      const key = tresor(['apikey', 'create', '--tenant', 'clinic', '--role', 'service'], env).stdout.trimEnd().split('\n').pop() as string;
      const { child, url } = await start(env);
      const base = `${url}/tenants/clinic/fhir`;
      const answered: string[] = [];
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${base}/${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        // Only a complete 2xx answer counts as "the client received data or an acknowledgement".
        // The server's id for the request, which its audit event carries.
        if (response.ok) answered.push(String(response.headers.get('x-request-id')));
        return { status: response.status, text };
      };
      const first = JSON.parse((await call('POST', 'Patient', patient())).text) as { id: string };
      let stop = false;
      const worker = async (n: number) => {
        for (let i = 0; !stop; i += 1) {
          try {
            if ((i + n) % 3 === 0) await call('POST', 'Observation', JSON.parse(JSON.stringify(observation(first.id, { valueQuantity: undefined, valueString: `v${i}` }))));
            else if ((i + n) % 3 === 1) await call('GET', `Patient/${first.id}`);
            else await call('GET', `Observation?patient=${first.id}&_count=5`);
          } catch {
            return; // the server is gone
          }
        }
      };
      const workers = Array.from({ length: 8 }, (_, n) => worker(n));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      assert.ok(answered.length > 20, `load ran: ${answered.length} answered requests`);

      // After the crash (no restart needed to read the files; a new process opens them).
      const core = await buildCore(loadConfig({ env, overrides: {} }));
      try {
        const report = await core.audit.verify('clinic');
        assert.deepEqual(report.findings, [], 'the chain verifies after kill -9');
        const db = await core.storage.tenant('clinic');
        const ids = new Set((await db.query<{ request_id: string }>(`SELECT request_id FROM ${db.table('audit_events')}`)).map((r) => r.request_id));
        const missing = answered.filter((id) => !ids.has(id));
        assert.deepEqual(missing, [], 'every answered request has its audit event');
      } finally {
        await core.audit.close();
        await core.storage.close();
      }
    });
  });
}
