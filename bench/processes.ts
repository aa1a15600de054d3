/**
 * `npm run bench -- processes`: does a second server process pay on this machine? Tresor's
 * server is one Node process, whose JavaScript runs on one core; `server.processes` runs several
 * over the same data directory (SQLite's WAL locking lets them, and every cache that matters for
 * revocation follows the file's data_version). This measures the product: `tresor start` with
 * TRESOR_SERVER_PROCESSES=1 and =2 (its primary hands connections out round-robin), over a data
 * directory seeded beforehand in this process.
 *
 *   BENCH_SECONDS=8        seconds per scenario (after 2 s of warm-up)
 *   BENCH_ROUNDS=2         rounds; each round measures 1 process, then 2 (alternated, since the
 *                          machine's speed drifts between minutes)
 *
 * Scenarios: reads of one Observation in one tenant (32 connections); reads spread over eight
 * tenants (4 connections each); creates in one tenant, and over eight. Reported: requests per
 * second, p99, the server's CPU per request (the primary and every server process, user and
 * system apart, from /proc) and the load generator's own CPU, which on a 2-core machine takes
 * its share of the second core.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';

const here = fileURLToPath(import.meta.url);
const cliMain = join(dirname(here), '../src/main.ts');
const tenantCount = 8;
const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Seeded {
  readonly tenant: string;
  readonly key: string;
  readonly patient: string;
  readonly observation: string;
}
type CpuSample = { user: number; system: number };

const observation = (patient: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2024-01-01T08:00:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});

const serverEnv = (dataDir: string, processes: number): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '',
  TRESOR_DATA_DIR: dataDir,
  TRESOR_TLS: 'false',
  TRESOR_LOG_LEVEL: 'silent',
  TRESOR_SERVER_PROCESSES: String(processes),
});

// ── The data: eight tenants, each a key, a patient and an Observation, made before the server starts ─

async function seed(dataDir: string): Promise<Seeded[]> {
  const app = await buildApp(loadConfig({ env: serverEnv(dataDir, 1), overrides: {} }));
  try {
    const seeded: Seeded[] = [];
    for (let n = 0; n < tenantCount; n += 1) {
      const tenant = `bench-${n}`;
      await app.tenants.create(tenant);
      const { key } = await app.apiKeys.create({ tenantId: tenant, role: 'service' });
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' };
      const post = async (type: string, body: unknown) => {
        const answer = await app.http.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/${type}`, headers, payload: JSON.stringify(body) });
        if (answer.statusCode !== 201) throw new Error(`seeding ${type}: ${answer.statusCode}`);
        return (JSON.parse(answer.body) as { id: string }).id;
      };
      const patient = await post('Patient', { resourceType: 'Patient', name: [{ family: 'Bench', given: [`P${n}`] }], birthDate: '1980-01-01' });
      seeded.push({ tenant, key, patient, observation: await post('Observation', observation(patient)) });
    }
    return seeded;
  } finally {
    await app.close();
  }
}

// ── The server: `tresor start`, and its CPU (the primary and its server processes) ─────────────

async function startServer(dataDir: string, processes: number, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'start', '--port', String(port)], { env: serverEnv(dataDir, processes), stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      if (processes === 1 ? /listening on/.test(stderr) : /server processes running/.test(stderr)) resolve();
    });
    child.once('exit', () => reject(new Error(`the server exited: ${stderr}`)));
  });
  return child;
}

/** User and system CPU (µs) of a process and its children, from /proc (clock ticks). */
function serverCpu(pid: number): CpuSample {
  // ps exits 1 when the process has no children (one server process).
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  let user = 0;
  let system = 0;
  for (const p of [pid, ...children]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of proc(5) (utime, stime); here counted from field 3 (state).
      user += Number(fields[11]);
      system += Number(fields[12]);
    } catch {
      // A process that exited between ps and /proc.
    }
  }
  return { user: (user * 1e6) / clockTicks, system: (system * 1e6) / clockTicks };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

// ── The bench: drives each set-up with autocannon from this process ─────────────────────────

interface Result {
  readonly processes: number;
  readonly scenario: string;
  readonly perSecond: number;
  readonly p99: number;
  readonly serverUser: number;
  readonly serverSystem: number;
  readonly loadCpu: number;
  readonly failed: number;
}

type Autocannon = (options: Record<string, unknown>) => Promise<{ requests: { total: number }; latency: { p99: number }; non2xx: number; errors: number }>;

async function bench(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const results: Result[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const processes of [1, 2]) {
      const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-processes-'));
      const seeded = await seed(dataDir);
      const port = await freePort();
      const child = await startServer(dataDir, processes, port);
      const ask = async () => serverCpu(child.pid as number);
      const ready = { port, seeded };
      const base = `http://127.0.0.1:${ready.port}`;
      const one = ready.seeded[0] as Seeded;
      const reads = (s: Seeded, connections: number, duration: number) =>
        autocannon({ url: `${base}/tenants/${s.tenant}/fhir/Observation/${s.observation}`, connections, duration, headers: { authorization: `Bearer ${s.key}` } });
      const creates = (s: Seeded, connections: number, duration: number) =>
        autocannon({
          url: `${base}/tenants/${s.tenant}/fhir/Observation`,
          method: 'POST',
          connections,
          duration,
          headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify(observation(s.patient)),
        });
      const scenarios: Array<[string, (duration: number) => Promise<Array<Awaited<ReturnType<Autocannon>>>>]> = [
        ['read, one tenant', async (d) => [await reads(one, 32, d)]],
        ['read, eight tenants', (d) => Promise.all(ready.seeded.map((s) => reads(s, 4, d)))],
        ['create, one tenant', async (d) => [await creates(one, 32, d)]],
        ['create, eight tenants', (d) => Promise.all(ready.seeded.map((s) => creates(s, 4, d)))],
      ];
      for (const [scenario, run] of scenarios) {
        await run(2);
        const before = await ask();
        const ownBefore = process.cpuUsage();
        const began = performance.now();
        const answers = await run(seconds);
        const wall = (performance.now() - began) / 1000;
        const own = process.cpuUsage(ownBefore);
        const after = await ask();
        const total = answers.reduce((sum, a) => sum + a.requests.total, 0);
        results.push({
          processes,
          scenario,
          perSecond: total / wall,
          p99: Math.max(...answers.map((a) => a.latency.p99)),
          serverUser: (after.user - before.user) / total,
          serverSystem: (after.system - before.system) / total,
          loadCpu: (own.user + own.system) / 1e6 / wall,
          failed: answers.reduce((sum, a) => sum + a.non2xx + a.errors, 0),
        });
        const last = results.at(-1) as Result;
        console.log(`round ${round}, ${processes} process(es), ${scenario}: ${Math.round(last.perSecond)} req/s, p99 ${last.p99} ms, server CPU ${Math.round(last.serverUser + last.serverSystem)} µs/req`);
      }
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  report(results);
}

function report(results: readonly Result[]): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows: string[] = [];
  for (const scenario of [...new Set(results.map((r) => r.scenario))]) {
    for (const processes of [1, 2]) {
      const mine = results.filter((r) => r.scenario === scenario && r.processes === processes);
      const one = results.filter((r) => r.scenario === scenario && r.processes === 1);
      const ratio = mine.map((r, i) => r.perSecond / (one[i]?.perSecond ?? r.perSecond));
      rows.push(
        `| ${scenario} | ${processes} | ${mine.map((r) => fmt(r.perSecond)).join(', ')} | ${processes === 1 ? '' : ratio.map((x) => x.toFixed(2)).join(', ')} | ${mine.map((r) => r.p99).join(', ')} | ${mine.map((r) => `${fmt(r.serverUser)} + ${fmt(r.serverSystem)}`).join(', ')} | ${mine.map((r) => r.loadCpu.toFixed(2)).join(', ')} | ${mine.reduce((s, r) => s + r.failed, 0)} |`,
      );
    }
  }
  const cpu = os.cpus();
  const text = [
    `## Several server processes over one data directory (SQLite), ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores; Node ${process.version}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
    `Command: \`npm run bench -- processes\` (BENCH_SECONDS=${seconds}, BENCH_ROUNDS=${rounds}); each round runs 1 process, then 2.`,
    '',
    '| scenario | processes | req/s per round | ÷ 1 process, same round | p99 ms | server CPU µs/req, user + system | load generator, cores | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  console.log(`\n${text}`);
  const dir = join(dirname(here), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-processes.md`), text);
}

await bench();
