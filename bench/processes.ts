/**
 * `npm run bench -- processes`: does a second server process pay on this machine? Tresor's
 * server is one Node process, whose JavaScript runs on one core; on SQLite several processes
 * could serve the same data directory (SQLite's WAL locking lets them, and every cache that
 * matters for revocation already follows the file's data_version). This measures it before it
 * is built: node:cluster with 1 and with 2 worker processes over one data directory, each worker
 * built exactly as `tresor start` builds the server, the primary only handing connections out.
 *
 *   BENCH_SECONDS=8        seconds per scenario (after 2 s of warm-up)
 *   BENCH_ROUNDS=2         rounds; each round measures 1 process, then 2 (alternated, since the
 *                          machine's speed drifts between minutes)
 *
 * Scenarios: reads of one Observation in one tenant (32 connections); reads spread over eight
 * tenants (4 connections each); creates in one tenant, and over eight. Reported: requests per
 * second, p99, the servers' CPU per request (all workers, user and system apart) and the load
 * generator's own CPU, which on a 2-core machine takes its share of the second core.
 */
import { fork } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { supportedTypes, warmFhirValidator } from '../src/records/index.js';

const here = fileURLToPath(import.meta.url);
const tenantCount = 8;
const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);

interface Seeded {
  readonly tenant: string;
  readonly key: string;
  readonly patient: string;
  readonly observation: string;
}
type CpuSample = { user: number; system: number };
type ToPrimary = { type: 'cpu' } | { type: 'stop' };
type FromPrimary = { type: 'ready'; port: number; seeded: Seeded[] } | { type: 'cpu'; user: number; system: number };

const observation = (patient: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2024-01-01T08:00:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});

// ── A worker: the server, as `tresor start` builds it ────────────────────────────────────────

async function worker(): Promise<void> {
  const dataDir = process.env['BENCH_DATA_DIR'] as string;
  const port = Number(process.env['BENCH_PORT']);
  const config = loadConfig({
    env: {},
    overrides: { dataDir, server: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}`, tls: { enabled: false } }, log: { level: 'silent' }, storage: { engine: 'sqlite' } },
  });
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config);
  const seeded: Seeded[] = [];
  if (process.env['BENCH_SEED'] === '1') {
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
  }
  await app.http.listen({ host: '127.0.0.1', port });
  process.on('message', (message: ToPrimary) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() } satisfies FromPrimary);
  });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.send?.({ type: 'ready', port, seeded } satisfies FromPrimary);
}

// ── The primary: starts the workers one after another (the first creates the data), sums CPU ─

async function primary(processes: number): Promise<void> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-processes-'));
  const port = await freePort();
  cluster.setupPrimary({ exec: here, args: ['--worker'], execArgv: process.execArgv });
  const workers: Worker[] = [];
  const ready = (w: Worker) => new Promise<Extract<FromPrimary, { type: 'ready' }>>((resolve) => w.once('message', resolve));
  let seeded: Seeded[] = [];
  for (let n = 0; n < processes; n += 1) {
    const w = cluster.fork({ BENCH_DATA_DIR: dataDir, BENCH_PORT: String(port), BENCH_SEED: n === 0 ? '1' : '0' });
    workers.push(w);
    const answer = await ready(w);
    if (n === 0) seeded = answer.seeded;
  }
  const cpu = async (): Promise<CpuSample> => {
    const samples = await Promise.all(
      workers.map(
        (w) =>
          new Promise<CpuSample>((resolve) => {
            const listen = (m: FromPrimary) => {
              if (m.type !== 'cpu') return;
              w.off('message', listen);
              resolve(m);
            };
            w.on('message', listen);
            w.send({ type: 'cpu' } satisfies ToPrimary);
          }),
      ),
    );
    const own = process.cpuUsage();
    return samples.reduce((sum, s) => ({ user: sum.user + s.user, system: sum.system + s.system }), { user: own.user, system: own.system });
  };
  process.on('message', (message: ToPrimary) => {
    if (message.type === 'cpu') void cpu().then((c) => process.send?.({ type: 'cpu', ...c } satisfies FromPrimary));
    else if (message.type === 'stop') {
      for (const w of workers) w.kill('SIGTERM');
      void Promise.all(workers.map((w) => new Promise((resolve) => (w.isDead() ? resolve(undefined) : w.once('exit', resolve))))).then(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  process.send?.({ type: 'ready', port, seeded } satisfies FromPrimary);
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
      const child = fork(here, ['--primary', String(processes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const ask = (message: ToPrimary) =>
        new Promise<Extract<FromPrimary, { type: 'cpu' }>>((resolve) => {
          const listen = (m: FromPrimary) => {
            if (m.type !== 'cpu') return;
            child.off('message', listen);
            resolve(m);
          };
          child.on('message', listen);
          child.send(message);
        });
      const ready = await new Promise<Extract<FromPrimary, { type: 'ready' }>>((resolve) => child.once('message', resolve));
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
        const before = await ask({ type: 'cpu' });
        const ownBefore = process.cpuUsage();
        const began = performance.now();
        const answers = await run(seconds);
        const wall = (performance.now() - began) / 1000;
        const own = process.cpuUsage(ownBefore);
        const after = await ask({ type: 'cpu' });
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
      child.send({ type: 'stop' } satisfies ToPrimary);
      await new Promise((resolve) => child.once('exit', resolve));
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

if (process.argv.includes('--worker')) await worker();
else if (process.argv.includes('--primary')) await primary(Number(process.argv[process.argv.indexOf('--primary') + 1]));
else await bench();
