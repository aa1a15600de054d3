/**
 * `node --import tsx bench/commit.ts`: where a durable SQLite commit waits for the disk, measured
 * A/B in one run. One server per mode (a child process, built as `main` builds it, TLS off, logs
 * silenced, the engine option set through buildApp's overrides); autocannon reads one
 * Observation and creates Observations over real sockets, the modes taking turns in slices.
 *
 *   BENCH_SECONDS=3         seconds per slice (after a 1 s warm-up per mode and scenario)
 *   BENCH_CONNECTIONS=32    concurrent HTTP connections
 *   BENCH_MODES=thread-pool,in-commit   the SQLite `walSync` values to compare
 *   BENCH_ROUNDS=3          slices per mode and scenario
 *   BENCH_HTTP=0            only the engine-alone comparison (no servers)
 *   BENCH_PROFILE=<dir>     run each server under `node --cpu-prof`, profiles written to <dir>
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import type { SqliteOptions } from '../src/platform/db/index.js';
import { openSqliteDatabase, sqliteDefaults } from '../src/platform/db/sqlite.js';
import { supportedTypes, warmFhirValidator } from '../src/records/index.js';

const autocannon = createRequire(import.meta.url)('autocannon') as (options: Record<string, unknown>) => Promise<{ non2xx: number; errors: number }> & { on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void };

type Mode = SqliteOptions['walSync'];
const fhir = '/tenants/bench/fhir';

function observation(patientId: string, n: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString(),
    valueQuantity: { value: 55 + (n % 50), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

async function serve(mode: Mode): Promise<void> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-commit-bench-'));
  const config = loadConfig({
    env: {},
    overrides: { dataDir, server: { host: '127.0.0.1', port: 0, tls: { enabled: false } }, log: { level: 'silent' }, storage: { engine: 'sqlite' } },
  });
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config, { sqlite: { walSync: mode } });
  await app.tenants.create('bench');
  const { key } = await app.apiKeys.create({ tenantId: 'bench', role: 'service' });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const address = app.http.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const stats = () => {
    const elu = performance.eventLoopUtilization();
    return { idle: elu.idle, active: elu.active };
  };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') process.send?.({ type: 'stats', ...stats() });
    if (message.type === 'stop') {
      void app.close().finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  process.send?.({ type: 'ready', port: address.port, key });
}

interface Server {
  readonly port: number;
  readonly key: string;
  elu(): Promise<{ idle: number; active: number }>;
  stop(): Promise<void>;
}

async function start(mode: Mode): Promise<Server> {
  const profile = process.env['BENCH_PROFILE'];
  const execArgv = [...process.execArgv, ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])];
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mode], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; key: string }>((resolve, reject) => {
    child.once('message', (message: { type: string; port: number; key: string }) => resolve(message));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  const ask = () =>
    new Promise<{ idle: number; active: number }>((resolve) => {
      child.once('message', (message: { idle: number; active: number }) => resolve(message));
      child.send({ type: 'stats' });
    });
  return {
    ...ready,
    elu: ask,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

async function request(server: Server, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

interface Slice {
  readonly ok: number;
  readonly seconds: number;
  readonly latencies: number[];
  readonly failed: number;
  readonly active: number;
  readonly idle: number;
}

async function slice(server: Server, requests: Array<Record<string, unknown>>, seconds: number, connections: number): Promise<Slice> {
  const latencies: number[] = [];
  const before = await server.elu();
  const began = performance.now();
  const instance = autocannon({ url: `http://127.0.0.1:${server.port}`, connections, duration: seconds, headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/fhir+json' }, requests });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const elapsed = (performance.now() - began) / 1000;
  const after = await server.elu();
  return { ok: latencies.length, seconds: elapsed, latencies, failed: result.non2xx + result.errors, active: after.active - before.active, idle: after.idle - before.idle };
}

function summary(slices: readonly Slice[]): { rps: number; p99: number; elu: number; failed: number } {
  const sorted = Float64Array.from(slices.flatMap((s) => s.latencies)).sort();
  const active = slices.reduce((sum, s) => sum + s.active, 0);
  const idle = slices.reduce((sum, s) => sum + s.idle, 0);
  return {
    rps: slices.reduce((sum, s) => sum + s.ok, 0) / slices.reduce((sum, s) => sum + s.seconds, 0),
    p99: sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)] ?? Number.NaN,
    elu: active / (active + idle),
    failed: slices.reduce((sum, s) => sum + s.failed, 0),
  };
}

/**
 * The engine alone, in this process: 32 callers each committing one-row transactions for
 * `seconds`; how busy the event loop was, and how many times a 1 ms timer got to run meanwhile
 * (what is left of the loop for everything else: parsing, sealing, answering).
 */
async function engineAlone(mode: Mode, seconds: number): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), 'tresor-commit-engine-'));
  const db = openSqliteDatabase(join(dir, 'x.db'), { ...sqliteDefaults, walSync: mode });
  await db.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  let commits = 0;
  let ticks = 0;
  const ticker = setInterval(() => (ticks += 1), 1);
  const before = performance.eventLoopUtilization();
  const began = performance.now();
  const until = began + seconds * 1000;
  let units = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        await db.transaction(async (tx) => tx.execute('INSERT INTO items (body) VALUES (?)', ['x'.repeat(300)]));
        units += 1;
      }
    }),
  );
  const elapsed = performance.now() - began;
  const elu = performance.eventLoopUtilization(before);
  clearInterval(ticker);
  commits = (await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM items'))[0]?.n ?? 0;
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return `| ${mode} | ${(units / (elapsed / 1000)).toFixed(0)} | ${(elu.utilization * 100).toFixed(0)} % | ${(ticks / (elapsed / 1000)).toFixed(0)} | ${commits === units ? 'yes' : `no (${commits})`} |`;
}

/**
 * Every mode's server is up for the whole run, and the modes take turns in short slices (read:
 * A B A B …, then create the same way): on a machine shared with other work, drift then lands
 * on both sides of the ratio alike.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 3);
  const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  const modes = (process.env['BENCH_MODES'] ?? 'thread-pool,in-commit').split(',') as Mode[];
  const engine: string[] = [];
  for (let round = 0; round < rounds; round += 1) for (const mode of modes) engine.push(await engineAlone(mode, seconds));
  console.log(['engine alone, 32 callers, one-row transactions:', '| walSync | units/s | loop busy | 1 ms timer runs/s | all rows there |', '|---|---|---|---|---|', ...engine].join('\n'));
  if (process.env['BENCH_HTTP'] === '0') return;
  const servers: Array<{ mode: Mode; server: Server; patientId: string; readPath: string; reads: Slice[]; creates: Slice[] }> = [];
  try {
    for (const mode of modes) {
      const server = await start(mode);
      const patient = await request(server, 'POST', `${fhir}/Patient`, { resourceType: 'Patient', name: [{ family: 'Bench' }] });
      const patientId = String(patient['id']);
      const read = await request(server, 'POST', `${fhir}/Observation`, observation(patientId, 0));
      servers.push({ mode, server, patientId, readPath: `${fhir}/Observation/${String(read['id'])}`, reads: [], creates: [] });
    }
    let n = 1;
    for (const each of servers) await slice(each.server, [{ method: 'GET', path: each.readPath }], 1, connections);
    for (let round = 0; round < rounds; round += 1) for (const each of servers) each.reads.push(await slice(each.server, [{ method: 'GET', path: each.readPath }], seconds, connections));
    const creates = (patientId: string) => [{ method: 'POST', path: `${fhir}/Observation`, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(observation(patientId, (n += 1))) }) }];
    for (const each of servers) await slice(each.server, creates(each.patientId), 1, connections);
    for (let round = 0; round < rounds; round += 1) for (const each of servers) each.creates.push(await slice(each.server, creates(each.patientId), seconds, connections));
  } finally {
    for (const { server } of servers) await server.stop();
  }
  const rows = servers.map(({ mode, reads, creates }) => {
    const r = summary(reads);
    const c = summary(creates);
    return { mode, r, c, line: `| ${mode} | ${r.rps.toFixed(0)} | ${r.p99.toFixed(1)} | ${(r.elu * 100).toFixed(0)} % | ${c.rps.toFixed(0)} | ${c.p99.toFixed(1)} | ${(c.elu * 100).toFixed(0)} % | ${r.failed + c.failed} |` };
  });
  const [a, b] = rows;
  console.log(
    [
      `${rounds} × ${seconds} s per mode and scenario, interleaved, ${connections} connections`,
      '| walSync | read/s | read p99 ms | read ELU | create/s | create p99 ms | create ELU | failed |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map((row) => row.line),
      ...(a !== undefined && b !== undefined ? [``, `ratio ${a.mode} ÷ ${b.mode}: read ${(a.r.rps / b.r.rps).toFixed(2)}×, create ${(a.c.rps / b.c.rps).toFixed(2)}×`] : []),
      ...servers.map(({ mode, reads, creates }) => `${mode} slices req/s: read ${reads.map((s) => (s.ok / s.seconds).toFixed(0)).join(' ')}; create ${creates.map((s) => (s.ok / s.seconds).toFixed(0)).join(' ')}`),
    ].join('\n'),
  );
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] as Mode);
else await main();
