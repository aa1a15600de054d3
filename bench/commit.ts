/**
 * `node --import tsx bench/commit.ts`: where a durable SQLite commit waits for the disk, measured
 * A/B in one run. For each mode the server (a child process, built as `main` builds it, TLS off,
 * logs silenced) is started afresh, and autocannon reads one Observation and creates
 * Observations over real sockets. Modes run back to back, twice each, alternating (A B A B), so
 * that drift on a shared machine shows.
 *
 *   BENCH_SECONDS=4         seconds per measured scenario (plus 1 s warm-up)
 *   BENCH_CONNECTIONS=32    concurrent HTTP connections
 *   BENCH_MODES=thread-pool,in-commit   the `storage.sqlite.walSync` values to compare
 *   BENCH_ROUNDS=2          how many times the list of modes is repeated
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

interface Figures {
  readonly rps: number;
  readonly p99: number;
  readonly failed: number;
  readonly elu: number;
}

async function measure(server: Server, requests: Array<Record<string, unknown>>, seconds: number, connections: number): Promise<Figures> {
  const run = async (duration: number) => {
    const latencies: number[] = [];
    const instance = autocannon({ url: `http://127.0.0.1:${server.port}`, connections, duration, headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/fhir+json' }, requests });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
    const result = await instance;
    return { latencies, failed: result.non2xx + result.errors };
  };
  await run(1);
  const before = await server.elu();
  const began = performance.now();
  const { latencies, failed } = await run(seconds);
  const elapsed = (performance.now() - began) / 1000;
  const after = await server.elu();
  const sorted = Float64Array.from(latencies).sort();
  const active = after.active - before.active;
  return { rps: latencies.length / elapsed, p99: sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)] ?? Number.NaN, failed, elu: active / (active + after.idle - before.idle) };
}

async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 4);
  const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
  const modes = (process.env['BENCH_MODES'] ?? 'thread-pool,in-commit').split(',') as Mode[];
  const rows: string[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const mode of modes) {
      const server = await start(mode);
      try {
        const patient = await request(server, 'POST', `${fhir}/Patient`, { resourceType: 'Patient', name: [{ family: 'Bench' }] });
        const patientId = String(patient['id']);
        const read = await request(server, 'POST', `${fhir}/Observation`, observation(patientId, 0));
        const reads = await measure(server, [{ method: 'GET', path: `${fhir}/Observation/${String(read['id'])}` }], seconds, connections);
        let n = 1;
        const creates = await measure(
          server,
          [{ method: 'POST', path: `${fhir}/Observation`, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(observation(patientId, (n += 1))) }) }],
          seconds,
          connections,
        );
        const line = `| ${round + 1} | ${mode} | ${reads.rps.toFixed(0)} | ${reads.p99.toFixed(1)} | ${(reads.elu * 100).toFixed(0)} % | ${creates.rps.toFixed(0)} | ${creates.p99.toFixed(1)} | ${(creates.elu * 100).toFixed(0)} % | ${reads.failed + creates.failed} |`;
        console.log(line);
        rows.push(line);
      } finally {
        await server.stop();
      }
    }
  }
  console.log(['', `${seconds} s per scenario, ${connections} connections`, '| round | walSync | read/s | read p99 ms | read ELU | create/s | create p99 ms | create ELU | failed |', '|---|---|---|---|---|---|---|---|---|', ...rows].join('\n'));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] as Mode);
else await main();
