import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliMain, tresorHere } from '../../support/cli.js';
import { dropPgSchemas, engines, observation, patient } from '../../support/harness.js';

/** `tresor start` with two server processes, as a child process; resolves once the primary says all listen. */
function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'start', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null && /2 server processes running/.test(stderr)) resolve({ child, url: m[1] as string, stderr: () => stderr });
    });
    child.on('exit', () => reject(new Error(`server exited early: ${stderr}`)));
  });
}

/** The primary's children: the server processes. */
const workersOf = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0)
    .sort((a, b) => a - b);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const waitFor = async (what: string, check: () => boolean, output: () => string, ms = 120_000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the server said:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** Sum of a metric's series in Prometheus text, by a filter on the series' labels. */
function metricValues(text: string, name: string): Array<{ labels: string; value: number }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const space = line.lastIndexOf(' ');
      return { labels: line.slice(name.length, space), value: Number(line.slice(space + 1)) };
    });
}

for (const engine of engines()) {
  describe(`tresor start with server.processes = 2 [${engine}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-processes-'));
    const schemaPrefix = `w${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      TRESOR_DATA_DIR: dataDir,
      TRESOR_TLS: 'false',
      TRESOR_LOG_LEVEL: 'silent',
      TRESOR_SERVER_PROCESSES: '2',
      ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: schemaPrefix, TRESOR_POSTGRES_POOL_SIZE: '4' } : {}),
    };
    let server: Awaited<ReturnType<typeof start>>;
    let key = '';
    // Every HTTP request this test makes, each on a connection of its own (round-robin hands out connections).
    let requests = 0;
    const call = (method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> => {
      requests += 1;
      const url = new URL(path, server.url);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(url, { method, agent: false, headers: { authorization: `Bearer ${key}`, ...(payload === undefined ? {} : { 'content-type': 'application/fhir+json' }) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(payload);
      });
    };
    const scrape = async () => {
      // Each response is counted just after it is sent: let the last ones land.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const answer = await call('GET', '/metrics');
      assert.equal(answer.status, 200, answer.text);
      return answer.text;
    };

    before(async () => {
      assert.equal((await tresorHere(['tenant', 'create', 'clinic'], env)).code, 0);
      key = (await tresorHere(['apikey', 'create', '--tenant', 'clinic', '--role', 'service'], env)).stdout.trimEnd().split('\n').pop() as string;
      server = await start(env);
    });
    after(async () => {
      if (server?.child.exitCode === null) server.child.kill('SIGKILL');
      if (engine === 'postgres') await dropPgSchemas(schemaPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('runs two server processes under a primary that holds server.pid', () => {
      assert.equal(workersOf(server.child.pid as number).length, 2);
      if (engine === 'sqlite') assert.equal(readFileSync(join(dataDir, 'server.pid'), 'utf8').trim(), String(server.child.pid), 'the CLI sees the primary as the server holding the files');
    });

    const created: string[] = [];
    it('creates and reads from many connections across both processes: every acknowledged create is readable, the audit chain intact', async () => {
      const first = await call('POST', '/tenants/clinic/fhir/Patient', patient());
      assert.equal(first.status, 201, first.text);
      const patientId = (JSON.parse(first.text) as { id: string }).id;
      let next = 0;
      const loop = async () => {
        while (next < 160) {
          const n = (next += 1);
          const answer = await call('POST', '/tenants/clinic/fhir/Observation', observation(patientId, { valueQuantity: undefined, valueString: `v${n}` }));
          assert.equal(answer.status, 201, answer.text);
          created.push((JSON.parse(answer.text) as { id: string }).id);
          const read = await call('GET', `/tenants/clinic/fhir/Patient/${patientId}`);
          assert.equal(read.status, 200);
        }
      };
      await Promise.all(Array.from({ length: 16 }, loop));
      assert.equal(created.length, 160);
      for (const id of created) {
        const answer = await call('GET', `/tenants/clinic/fhir/Observation/${id}`);
        assert.equal(answer.status, 200, `created ${id} is readable`);
        assert.equal((JSON.parse(answer.text) as { id: string }).id, id);
      }
    });

    it('/metrics from either process shows the whole server: every request counted once, both processes at work, one runs the jobs', async () => {
      const made = requests;
      const text = await scrape();
      const total = metricValues(text, 'tresor_http_requests_total').reduce((sum, s) => sum + s.value, 0);
      assert.equal(total, made, 'requests summed over both processes, the scrape itself not yet counted');
      const byProcess = metricValues(text, 'tresor_server_process_requests_total');
      assert.deepEqual(byProcess.map((s) => s.labels).sort(), ['{process="1"}', '{process="2"}']);
      for (const s of byProcess) assert.ok(s.value > 10, `process ${s.labels} answered requests (${s.value})`);
      assert.deepEqual(
        metricValues(text, 'tresor_server_process_jobs').sort((a, b) => a.labels.localeCompare(b.labels)),
        [
          { labels: '{process="1"}', value: 1 },
          { labels: '{process="2"}', value: 0 },
        ],
        'scheduled jobs in exactly one process',
      );
      // A value every process reads from the same place is not summed.
      if (engine === 'sqlite') assert.deepEqual(metricValues(text, 'tresor_scheduler_leader'), [{ labels: '{jobs="upkeep"}', value: 1 }]);
    });

    it('replaces a process killed with SIGKILL, the replacement taking its role, while the other serves', async () => {
      const primary = server.child.pid as number;
      const [victim, survivor] = workersOf(primary) as [number, number];
      process.kill(victim, 'SIGKILL');
      await waitFor('the killed process to be gone', () => !workersOf(primary).includes(victim), server.stderr);
      for (let n = 0; n < 10; n += 1) assert.equal((await call('GET', '/healthz')).status, 200, 'the other process serves meanwhile');
      await waitFor('a replacement', () => workersOf(primary).length === 2, server.stderr);
      assert.ok(workersOf(primary).includes(survivor));
      await waitFor('the replacement to listen', () => /exited \(SIGKILL\); starting another/.test(server.stderr()) && (server.stderr().match(/listening on/g) ?? []).length >= 3, server.stderr);
      for (const id of created.slice(0, 20)) assert.equal((await call('GET', `/tenants/clinic/fhir/Observation/${id}`)).status, 200);
      const text = await scrape();
      assert.deepEqual(
        metricValues(text, 'tresor_server_process_jobs').map((s) => s.value).sort(),
        [0, 1],
        'still exactly one process runs the jobs',
      );
    });

    it('SIGTERM stops every process, exits 0 and removes server.pid; the audit chain verifies', async () => {
      const primary = server.child.pid as number;
      const workers = workersOf(primary);
      const exit = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      assert.equal(await exit, 0, server.stderr());
      for (const pid of workers) assert.equal(alive(pid), false, `server process ${pid} stopped`);
      assert.equal(existsSync(join(dataDir, 'server.pid')), false);
      const verify = await tresorHere(['audit', 'verify', '--tenant', 'clinic'], env);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /chain intact/);
    });
  });
}

describe('tresor start with server.processes = 2 when a process cannot start', () => {
  it('stops the others, removes server.pid and exits 1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-processes-'));
    // The port is taken: the first server process fails before it listens.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const env = { PATH: process.env['PATH'] ?? '', TRESOR_DATA_DIR: dataDir, TRESOR_TLS: 'false', TRESOR_LOG_LEVEL: 'silent', TRESOR_SERVER_PROCESSES: '2' };
      const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'start', '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 1, stderr);
      assert.match(stderr, /server process \d+ exited before it listened/);
      assert.equal(existsSync(join(dataDir, 'server.pid')), false);
    } finally {
      holder.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
