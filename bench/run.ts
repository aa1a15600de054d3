/**
 * `npm run bench`: Tresor's FHIR API driven over real sockets by autocannon, next to a baseline
 * of the same operations straight against the storage engine, measured in the same run.
 *
 *   BENCH_SECONDS=10       seconds per measured scenario (baselines run half as long)
 *   BENCH_CONNECTIONS=32   concurrent HTTP connections (and concurrent PostgreSQL baseline callers)
 *   TRESOR_TEST_PG_URL     postgres://… — when set, PostgreSQL is measured after SQLite
 *   BENCH_PG_ANALYZE=0     do not ANALYZE Tresor's PostgreSQL tables (see measureTresor)
 *   BENCH_HOT=1            only the hot path on SQLite (which every run ends with): /healthz, read,
 *                          token read and create on one server, each as a ratio to /healthz of the
 *                          same run, with the top entries of a CPU profile per scenario
 *   BENCH_CPU_PROF=<dir>   keep those V8 CPU profiles of the serving child (the profiler
 *                          `node --cpu-prof` uses, started and stopped over IPC) in <dir>
 *   BENCH_SOURCE=1         serve the TypeScript sources through tsx instead of the compiled
 *                          build in dist/ (which users run, and which is rebuilt first when it
 *                          is missing or older than src/; see bench/server-code.ts)
 *   BENCH_DIST=<dir>       serve another compiled build (an older commit's dist/, for A/B)
 *
 * The server runs in a child process (this file with `--serve`), so that autocannon and Tresor do
 * not share one event loop: on a small machine they would otherwise measure each other. The
 * child is built exactly as `main` builds it (buildApp + loadConfig, from dist/), with TLS off and
 * logs silenced. Results go to stdout and to bench/results/<date>-<engines>.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { cpuProfiler } from './cpu-profiler.js';
import { summariseProfile } from './profile-summary.js';
import { noAudit } from './no-audit.js';
import { plaintextSealer } from './plaintext-sealer.js';
import { rewriteWithoutCrypto } from './rewrite-without-crypto.js';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { buildApp } from '../src/app.js';
import { ensureBuilt, fromSource, loadServerCode } from './server-code.js';
import { sqliteVersion } from './sqlite-version.js';

// ── Settings ────────────────────────────────────────────────────────────────────────────────

type Engine = 'sqlite' | 'postgres';

function envNumber(name: string, fallback: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole ' : ''}number, not ${JSON.stringify(raw)}`);
  }
  return value;
}

const tenantId = 'bench';
const fhirBase = `/tenants/${tenantId}/fhir`;
// A second tenant, for reads spread over two audit chains.
const tenantTwo = 'bench-two';
const fhirBaseTwo = `/tenants/${tenantTwo}/fhir`;
const schemaPrefix = 'bench';
/** Every schema this bench creates on PostgreSQL: Tresor's two (prefix `bench`) and the baseline's. */
const pgSchemas = [`${schemaPrefix}_platform`, `${schemaPrefix}_keys`, `${schemaPrefix}_t_${tenantId}`, `${schemaPrefix}_baseline`] as const;

const patientCount = 200;
/** Patients whose Observations the search scenario pages through; creates go to the others. */
const searchPatientCount = 40;
const observationsPerSearchPatient = 64;
const pageSize = 50;
const bundleMax = 500;
const loinc = 'http://loinc.org';
const heartRate = '8867-4';
/** The issue's targets: embedded engine, 32 connections, 2 cores. */
const targets = { create: 3000, read: 8000, search: 1000, p99Ms: 25 } as const;

// ── FHIR content shared by Tresor and the baselines ─────────────────────────────────────────

const start2021 = Date.UTC(2021, 0, 1);

/** A dateTime inside [2021-01-01, 2029-12-31): always within the search's date window. */
function effectiveFor(n: number): string {
  const at = start2021 + ((n * 7919) % (3285 * 24)) * 3_600_000;
  return `${new Date(at).toISOString().slice(0, 19)}Z`;
}

function observation(patientId: string, n: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
    code: { coding: [{ system: loinc, code: heartRate, display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: effectiveFor(n),
    valueQuantity: { value: 55 + (n % 50), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function patient(n: number): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:oid:1.2.276.0.76.4.8', value: `B${String(100000 + n)}` }],
    name: [{ family: `Benchmark${n}`, given: ['Anna', 'Maria'] }],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: `19${String(40 + (n % 60)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`,
  };
}

/** What Tresor stores for a created Observation: the resource with its id and meta. */
function storedObservation(id: string, patientId: string, n: number, lastUpdated: number): string {
  return JSON.stringify({ ...observation(patientId, n), id, meta: { versionId: '1', lastUpdated: new Date(lastUpdated).toISOString() } });
}

// ── Statistics ──────────────────────────────────────────────────────────────────────────────

interface Measured {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly count: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

function summarise(latencies: readonly number[], elapsedSeconds: number): Measured {
  const sorted = Float64Array.from(latencies).sort();
  return { opsPerSecond: latencies.length / elapsedSeconds, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), count: latencies.length };
}

// ── The server process ──────────────────────────────────────────────────────────────────────

interface ServeSpec {
  readonly engine: Engine;
  readonly pgUrl?: string;
  /** `plaintext`: the baseline for encryption overhead (bench/plaintext-sealer.ts). */
  readonly sealing?: 'encrypted' | 'plaintext';
  /** `off`: the baseline for the audit trail's cost (bench/no-audit.ts). */
  readonly audit?: 'on' | 'off';
  /** PostgreSQL: storage.postgres.poolSize, when not the default (bench/postgres.ts compares sizes). */
  readonly poolSize?: number;
}

interface ServerStats {
  readonly cpuMicros: number;
  readonly idle: number;
  readonly active: number;
  readonly rssBytes: number;
}

type ToServer =
  | { readonly type: 'stats' }
  | { readonly type: 'stop' }
  | { readonly type: 'rotate' }
  | { readonly type: 'verify' }
  | { readonly type: 'people'; readonly count: number }
  | { readonly type: 'oauth-client'; readonly scope: string }
  | { readonly type: 'profile-start' }
  | { readonly type: 'profile-stop'; readonly file: string };
type FromServer =
  | { readonly type: 'ready'; readonly port: number; readonly key: string; readonly keyTwo: string; readonly startupMs: number }
  | ({ readonly type: 'stats' } & ServerStats)
  | ({ readonly type: 'rotated' } & RotationMeasured)
  | { readonly type: 'verified'; readonly events: number; readonly seconds: number; readonly findings: number }
  | { readonly type: 'people-ready'; readonly count: number }
  // The secret crosses the IPC channel between the two bench processes only; it is never printed.
  | { readonly type: 'oauth-client-ready'; readonly clientId: string; readonly clientSecret: string }
  | { readonly type: 'profile-started' }
  | { readonly type: 'profile-written'; readonly file: string };

/** People of the bench tenant who sign in (`person<n>@bench.example`), all with this password. */
const personPassword = 'seven hungry otters swim the fjord';
const personEmail = (n: number) => `person${n}@bench.example`;

/** `tresor keys rotate` on the bench tenant, inside the server, after the HTTP scenarios. */
interface RotationMeasured {
  readonly rows: number;
  readonly fields: number;
  /** The re-encryption pass alone (the phase whose speed depends on the data). */
  readonly reencryptSeconds: number;
  /** Start to finish, including the fixed settling waits before the floor is raised and before retiring. */
  readonly wallSeconds: number;
  readonly retired: string;
  /** The same rows rewritten through the same storage handle in the same batches, without keys or AES-GCM. */
  readonly baselineRows: number;
  readonly baselineSeconds: number;
}

/**
 * A free port on the loopback address, to listen on right after. The authorization server's
 * issuer is fixed when buildApp runs (from `server.publicUrl`), before the server listens: so the
 * port is chosen first rather than left to listen({ port: 0 }).
 */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('the port probe has no TCP address');
  return address.port;
}

function serverStats(): ServerStats {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return { cpuMicros: cpu.user + cpu.system, idle: elu.idle, active: elu.active, rssBytes: process.memoryUsage().rss };
}

async function serve(spec: ServeSpec): Promise<void> {
  const profiler = cpuProfiler();
  const send = (message: FromServer) => process.send?.(message);
  const started = performance.now();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-'));
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await app?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(code);
    }
  };
  process.on('message', (message: ToServer) => {
    if (message.type === 'stats') send({ type: 'stats', ...serverStats() });
    else if (message.type === 'profile-start') void profiler.start().then(() => send({ type: 'profile-started' }));
    else if (message.type === 'profile-stop') void profiler.stop(message.file).then(() => send({ type: 'profile-written', file: message.file }));
    else if (message.type === 'stop') void shutdown(0);
    else if (message.type === 'verify' && app !== undefined) {
      const running = app;
      void (async () => {
        const began = performance.now();
        const report = await running.audit.verify(tenantId);
        send({ type: 'verified', events: report.events, seconds: (performance.now() - began) / 1000, findings: report.findings.length });
      })().catch((error: unknown) => {
        console.error('bench audit verify failed:', error);
        void shutdown(1);
      });
    } else if (message.type === 'people' && app !== undefined) {
      const running = app;
      void (async () => {
        // Sessions without a second factor, so that a login is the password step alone.
        await running.tenants.setMfaPolicy(tenantId, 'optional');
        const operator = { id: 'bench', role: 'operator', client: 'bench' };
        for (let n = 0; n < message.count; n += 1) {
          const { setupToken } = await running.accounts.invite({ tenantId, role: 'front-desk', email: personEmail(n), by: operator });
          await running.accounts.completeSetup({ tenantId, token: setupToken, password: personPassword, sourceIp: '127.0.0.1' });
        }
        send({ type: 'people-ready', count: message.count });
      })().catch((error: unknown) => {
        console.error('bench people failed:', error);
        void shutdown(1);
      });
    } else if (message.type === 'oauth-client' && app !== undefined) {
      const running = app;
      void (async () => {
        // A SMART Backend Services app as a tenant admin registers it; its secret exists only in this result.
        const { client, clientSecret } = await running.clients.create(
          tenantId,
          { name: 'Bench backend service', publisher: 'Tresor bench', kind: 'backend', authMethod: 'client_secret_basic', scope: message.scope, role: 'service-reader' },
          'bench',
        );
        if (clientSecret === undefined) throw new Error('the backend client was registered without a secret');
        send({ type: 'oauth-client-ready', clientId: client.clientId, clientSecret });
      })().catch((error: unknown) => {
        console.error('bench OAuth client failed:', error);
        void shutdown(1);
      });
    } else if (message.type === 'rotate' && app !== undefined) {
      const running = app;
      void (async () => {
        const began = performance.now();
        const { job } = await running.rotation.start('tenant', tenantId);
        let reencryptEnded = 0;
        const done = await running.rotation.run(job.id, {
          // The pass is through when every counted row is done (then the job waits to settle).
          onProgress: (current) => {
            if (reencryptEnded === 0 && (current.phase !== 'reencrypt' || (current.rowsTotal > 0 && current.rowsDone >= current.rowsTotal && current.cursor === null))) reencryptEnded = performance.now();
          },
        });
        const wallSeconds = (performance.now() - began) / 1000;
        const baseline = await rewriteWithoutCrypto(await running.storage.tenant(tenantId));
        send({
          type: 'rotated',
          rows: done.rowsTotal,
          fields: done.fieldsDone,
          reencryptSeconds: (reencryptEnded - began) / 1000,
          wallSeconds,
          retired: done.retired ?? '',
          baselineRows: baseline.rows,
          baselineSeconds: baseline.seconds,
        });
      })().catch((error: unknown) => {
        console.error('bench rotation failed:', error);
        void shutdown(1);
      });
    }
  });
  // The parent went away (crash, ^C): do not linger with a port and a data directory.
  process.on('disconnect', () => void shutdown(0));
  // ^C reaches the whole process group: clean up rather than die with the data left behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(130));
  try {
    const { buildApp, loadConfig, supportedTypes, warmFhirValidator } = await loadServerCode();
    const port = await freeLoopbackPort();
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        // The flood scenario stands for many source addresses (a botnet): X-Forwarded-For is believed.
        // publicUrl is where the bench reaches the server: the OAuth issuer and token endpoint derive from it.
        server: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}`, tls: { enabled: false }, trustProxy: true },
        log: { level: 'silent' },
        storage: spec.engine === 'postgres' ? { engine: 'postgres', postgres: { url: spec.pgUrl, schemaPrefix, ...(spec.poolSize === undefined ? {} : { poolSize: spec.poolSize }) } } : { engine: 'sqlite' },
      },
    });
    // Compiling the R4 schema takes seconds; it must not land inside a measurement.
    warmFhirValidator(supportedTypes);
    app = await buildApp(config, { ...(spec.sealing === 'plaintext' ? { fieldSealer: plaintextSealer } : {}), ...(spec.audit === 'off' ? { audit: noAudit } : {}) });
    await app.tenants.create(tenantId);
    const { key } = await app.apiKeys.create({ tenantId, role: 'service' });
    await app.tenants.create(tenantTwo);
    const { key: keyTwo } = await app.apiKeys.create({ tenantId: tenantTwo, role: 'service' });
    await app.http.listen({ host: config.server.host, port: config.server.port });
    const address = app.http.server.address();
    if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
    send({ type: 'ready', port: address.port, key, keyTwo, startupMs: performance.now() - started });
  } catch (error) {
    console.error('bench server failed to start:', error);
    await shutdown(1);
  }
}

interface ServerHandle {
  readonly port: number;
  readonly key: string;
  readonly keyTwo: string;
  readonly startupMs: number;
  stats(): Promise<ServerStats>;
  rotate(): Promise<RotationMeasured>;
  verify(): Promise<{ events: number; seconds: number; findings: number }>;
  people(count: number): Promise<unknown>;
  /** Registers a backend service (client_secret_basic, role service-reader) in the bench tenant. */
  oauthClient(scope: string): Promise<{ clientId: string; clientSecret: string }>;
  /** Starts the child's V8 CPU profiler; `profileStop` writes the profile to `file`. */
  profileStart(): Promise<unknown>;
  profileStop(file: string): Promise<unknown>;
  stop(): Promise<void>;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startServer(spec: ServeSpec): Promise<ServerHandle> {
  ensureBuilt();
  // execArgv is inherited (`--import tsx`), so the child runs this same TypeScript file; the app
  // it serves comes from dist/ (bench/server-code.ts).
  const child = fork(fileURLToPath(import.meta.url), ['--serve', JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ToServer);
    if (!(await waitForExit(child, 30_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    }
  };
  try {
    const ready = await new Promise<Extract<FromServer, { type: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the bench server did not start within 120 s')), 120_000);
      child.once('message', (message: FromServer) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message);
        else reject(new Error(`unexpected message from the bench server: ${message.type}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the bench server exited during start-up (${signal ?? `code ${code}`})`));
      });
    });
    /** Sends a request to the server process and waits for its answer of type `answer`. */
    const ask = <T extends FromServer['type']>(request: ToServer, answer: T) =>
      new Promise<Extract<FromServer, { type: T }>>((resolve) => {
        const listen = (message: FromServer) => {
          if (message.type !== answer) return;
          child.off('message', listen);
          resolve(message as Extract<FromServer, { type: T }>);
        };
        child.on('message', listen);
        child.send(request);
      });
    return {
      port: ready.port,
      key: ready.key,
      keyTwo: ready.keyTwo,
      startupMs: ready.startupMs,
      stats: () => ask({ type: 'stats' }, 'stats'),
      rotate: () => ask({ type: 'rotate' }, 'rotated'),
      verify: () => ask({ type: 'verify' }, 'verified'),
      people: (count: number) => ask({ type: 'people', count }, 'people-ready'),
      oauthClient: async (scope: string) => {
        const { clientId, clientSecret } = await ask({ type: 'oauth-client', scope }, 'oauth-client-ready');
        return { clientId, clientSecret };
      },
      profileStart: () => ask({ type: 'profile-start' }, 'profile-started'),
      profileStop: (file: string) => ask({ type: 'profile-stop', file }, 'profile-written'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ── HTTP helpers for seeding and checks ─────────────────────────────────────────────────────

interface FhirClient {
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
}

function fhirClient(port: number, key: string): FhirClient {
  return {
    async request(method, path, body) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, accept: 'application/fhir+json', ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    },
  };
}

const entriesOf = (bundle: Record<string, unknown>): Array<Record<string, any>> => (Array.isArray(bundle['entry']) ? (bundle['entry'] as Array<Record<string, any>>) : []);

/** Posts a transaction of POSTs and returns the new ids, in entry order. */
async function transaction(client: FhirClient, resources: ReadonlyArray<Record<string, unknown>>, base = fhirBase): Promise<string[]> {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ request: { method: 'POST', url: String(resource['resourceType']) }, resource })),
  };
  const { status, json } = await client.request('POST', base, bundle);
  if (status !== 200) throw new Error(`seeding transaction failed with ${status}: ${JSON.stringify(json).slice(0, 600)}`);
  return entriesOf(json).map((entry, index) => {
    const location = String(entry['response']?.['location'] ?? '');
    const id = /^[A-Za-z]+\/([^/]+)\/_history\//.exec(location)?.[1];
    if (id === undefined) throw new Error(`seeding transaction: entry ${index} has no location (${location})`);
    return id;
  });
}

interface Seeded {
  readonly patients: readonly string[];
  readonly searchPatients: readonly string[];
  readonly observations: readonly string[];
  readonly seconds: number;
}

async function seed(client: FhirClient): Promise<Seeded> {
  const started = performance.now();
  const patients = await transaction(
    client,
    Array.from({ length: patientCount }, (_, n) => patient(n)),
  );
  const searchPatients = patients.slice(0, searchPatientCount);
  const pending: Array<Record<string, unknown>> = [];
  searchPatients.forEach((id, p) => {
    for (let k = 0; k < observationsPerSearchPatient; k += 1) pending.push(observation(id, p * observationsPerSearchPatient + k));
  });
  const observations: string[] = [];
  for (let offset = 0; offset < pending.length; offset += bundleMax) observations.push(...(await transaction(client, pending.slice(offset, offset + bundleMax))));
  return { patients, searchPatients, observations, seconds: (performance.now() - started) / 1000 };
}

function searchPath(patientId: string): string {
  const code = encodeURIComponent(`${loinc}|${heartRate}`);
  return `${fhirBase}/Observation?patient=${patientId}&code=${code}&date=ge2020-01-01&date=lt2030-01-01&_count=${pageSize}`;
}

/** Fails loudly unless the search scenario's query really returns a full page of this patient's data. */
async function verify(client: FhirClient, seeded: Seeded): Promise<void> {
  const patientId = seeded.searchPatients[0] as string;
  const { status, json } = await client.request('GET', searchPath(patientId));
  const entries = entriesOf(json);
  const total = json['total'];
  if (status !== 200 || entries.length !== pageSize || typeof total !== 'number' || total < pageSize) {
    throw new Error(`search check failed: status ${status}, ${entries.length} entries, total ${String(total)} (expected ${pageSize} entries and total ≥ ${pageSize})`);
  }
  const foreign = entries.filter((entry) => entry['resource']?.['subject']?.['reference'] !== `Patient/${patientId}`);
  if (foreign.length > 0) throw new Error(`search check failed: ${foreign.length} entries belong to another patient`);
  const read = await client.request('GET', `${fhirBase}/Observation/${seeded.observations[0] as string}`);
  if (read.status !== 200 || read.json['id'] !== seeded.observations[0]) throw new Error(`read check failed: status ${read.status}`);
}

// ── autocannon ──────────────────────────────────────────────────────────────────────────────

interface CannonRequest {
  method?: 'GET' | 'POST';
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (request: CannonRequest) => CannonRequest;
}

interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  requests: CannonRequest[];
}

interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
}

type CannonInstance = EventEmitter & PromiseLike<CannonResult>;
// autocannon ships no types; this is the part of its API the bench uses.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: CannonOptions) => CannonInstance;

interface ScenarioResult extends Measured {
  readonly name: string;
  readonly failed: number;
  readonly statusCodes: string;
  /** 2xx responses of the warm-up and the measurement: for creates, the rows added. */
  readonly okIncludingWarmup: number;
  readonly serverCpuPercent: number;
  readonly serverEventLoop: number;
  readonly clientCpuPercent: number;
  readonly machineBusyPercent: number;
  readonly cannonP50: number;
  readonly cannonP99: number;
}

async function cannon(server: ServerHandle, requests: CannonRequest[], seconds: number, connections: number): Promise<{ result: CannonResult; latencies: number[] }> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${server.key}`, accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
    requests,
  });
  // autocannon's own histogram has 1 ms resolution; these are the raw per-request times.
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  return { result, latencies };
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, irq, idle } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  return { busy, total };
}

async function scenario(name: string, server: ServerHandle, requests: () => CannonRequest[], settings: Settings): Promise<ScenarioResult> {
  process.stdout.write(`  ${name}: warm-up ${settings.warmupSeconds} s, measuring ${settings.seconds} s … `);
  const warmup = await cannon(server, requests(), settings.warmupSeconds, settings.connections);
  const before = await server.stats();
  const machineBefore = machineTimes();
  const clientBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const { result, latencies } = await cannon(server, requests(), settings.seconds, settings.connections);
  const wallMicros = (performance.now() - wallBefore) * 1000;
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineTimes();
  const after = await server.stats();
  const measured = summarise(latencies, result.duration);
  const failed = result.non2xx + result.errors + result.timeouts;
  const statusCodes = Object.entries(result.statusCodeStats)
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  console.log(`${measured.opsPerSecond.toFixed(0)} req/s${failed > 0 ? `, ${failed} FAILED (${statusCodes}, errors ${result.errors}, timeouts ${result.timeouts})` : ''}`);
  return {
    ...measured,
    name,
    failed,
    statusCodes,
    okIncludingWarmup: result['2xx'] + warmup.result['2xx'],
    serverCpuPercent: ((after.cpuMicros - before.cpuMicros) / wallMicros) * 100,
    serverEventLoop: (after.active - before.active) / (after.active - before.active + (after.idle - before.idle)),
    clientCpuPercent: ((client.user + client.system) / wallMicros) * 100,
    machineBusyPercent: ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * 100,
    cannonP50: result.latency.p50,
    cannonP99: result.latency.p99,
  };
}

async function measureTresor(engine: Engine, settings: Settings, pgUrl: string | undefined, sealing: 'encrypted' | 'plaintext' = 'encrypted', audit: 'on' | 'off' = 'on'): Promise<TresorRun> {
  if (engine === 'postgres') await dropPgSchemas(pgUrl as string);
  const server = await startServer(engine === 'postgres' ? { engine, pgUrl: pgUrl as string, sealing, audit } : { engine, sealing, audit });
  try {
    console.log(`  server up in ${(server.startupMs / 1000).toFixed(1)} s (validator warmed, tenant and key created)`);
    const client = fhirClient(server.port, server.key);
    const seeded = await seed(client);
    console.log(
      `  seeded ${seeded.patients.length} patients and ${seeded.observations.length} observations (${searchPatientCount} patients × ${observationsPerSearchPatient}) in ${seeded.seconds.toFixed(1)} s`,
    );
    await verify(client, seeded);
    console.log(`  checked: search returns ${pageSize} entries with total ≥ ${pageSize}; read returns the resource`);
    // A steady-state PostgreSQL has statistics (autovacuum analyzes within about a minute of bulk
    // changes); tables filled seconds ago have none, and the planner then picks nested loops that
    // cost O(matches × rows). BENCH_PG_ANALYZE=0 measures that fresh state instead.
    const analyze = async () => {
      if (engine === 'postgres' && settings.pgAnalyze) await analyzePg(pgUrl as string);
    };
    await analyze();

    // Creates go to patients outside the search subset, so the search data stays as seeded.
    const createPatients = seeded.patients.slice(searchPatientCount);
    const bodies = Array.from({ length: 1024 }, (_, n) => Buffer.from(JSON.stringify(observation(createPatients[n % createPatients.length] as string, 100_000 + n))));
    const create = await scenario('create Observation', server, () => {
      let n = 0;
      return [{ method: 'POST', path: `${fhirBase}/Observation`, setupRequest: (request) => ({ ...request, body: bodies[n++ % bodies.length] as Buffer }) }];
    }, settings);

    await analyze();
    const read = await scenario('read Observation', server, () => observationReads(seeded), settings);

    // The plaintext and audit-off runs only answer "what does encryption (or auditing) cost on create and read".
    if (sealing === 'plaintext' || audit === 'off') return { create, read, search: undefined, seeded, serverRssBytes: (await server.stats()).rssBytes };

    // Right after the API-key reads, so that the two differ in the credential and little else.
    const oauth = await measureOAuth(server, seeded, settings);

    // The same reads, every other one from a second tenant with its own chain: appends of one
    // tenant must not hold up another's (each has its own chain head, and one append at a time each).
    const clientTwo = fhirClient(server.port, server.keyTwo);
    const patientsTwo = await transaction(clientTwo, Array.from({ length: 40 }, (_, n) => patient(n)), fhirBaseTwo);
    const observationsTwo = await transaction(clientTwo, Array.from({ length: bundleMax }, (_, n) => observation(patientsTwo[n % patientsTwo.length] as string, n)), fhirBaseTwo);
    const twoTenants = await scenario('read Observation, two tenants', server, () => {
      let n = Math.floor(Math.random() * seeded.observations.length);
      return [
        {
          method: 'GET',
          setupRequest: (request) => {
            n += 1;
            return n % 2 === 0
              ? { ...request, path: `${fhirBase}/Observation/${seeded.observations[n % seeded.observations.length] as string}` }
              : { ...request, path: `${fhirBaseTwo}/Observation/${observationsTwo[n % observationsTwo.length] as string}`, headers: { ...request.headers, authorization: `Bearer ${server.keyTwo}` } };
          },
        },
      ];
    }, settings);
    const paths = seeded.searchPatients.map(searchPath);
    const search = await scenario('search (patient+code+date, 50/page)', server, () => {
      let n = Math.floor(Math.random() * paths.length);
      return [{ method: 'GET', setupRequest: (request) => ({ ...request, path: paths[n++ % paths.length] as string }) }];
    }, settings);

    const logins = await measureLogins(server, seeded, settings);

    const rss = (await server.stats()).rssBytes;
    process.stdout.write('  key rotation of the whole tenant … ');
    const rotation = await server.rotate();
    console.log(`${rate(rotation.rows / rotation.reencryptSeconds)} envelopes/s, ${rate(rotation.fields / rotation.reencryptSeconds)} fields/s (${rate(rotation.rows)} stored versions in ${fixed(rotation.reencryptSeconds, 1)} s)`);
    process.stdout.write('  tresor audit verify of the whole tenant … ');
    const verified = await server.verify();
    console.log(`${rate(verified.events / verified.seconds)} events/s (${rate(verified.events)} events, ${verified.findings} findings)`);
    return { create, read, twoTenants, search, seeded, serverRssBytes: rss, rotation, verified, logins, oauth };
  } finally {
    await server.stop();
  }
}

/**
 * The read scenario's requests: Observations by id, round-robin from a random start. With
 * `authorization`, that header replaces the API key of cannon()'s defaults, and nothing else changes.
 */
function observationReads(seeded: Seeded, authorization?: string): CannonRequest[] {
  let n = Math.floor(Math.random() * seeded.observations.length);
  return [
    {
      method: 'GET',
      ...(authorization === undefined ? {} : { headers: { authorization } }),
      setupRequest: (request) => ({ ...request, path: `${fhirBase}/Observation/${seeded.observations[n++ % seeded.observations.length] as string}` }),
    },
  ];
}

// ── OAuth 2.0 / SMART Backend Services ──────────────────────────────────────────────────────

/** What the bench's backend service is registered for and asks for: enough to read Observations. */
const oauthScope = 'system/Observation.rs';
const tokenPath = `/tenants/${tenantId}/oauth/token`;

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks of a client id and secret before HTTP Basic. */
const formEncode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);

/**
 * The token endpoint under load (client credentials, client_secret_basic, one backend service),
 * and the read scenario with one access token from it instead of the API key. The token is
 * obtained once (it lives `oauth.accessTokenMinutes`, 10 by default, longer than the scenario) and
 * it and the secret stay in this process's memory.
 */
async function measureOAuth(server: ServerHandle, seeded: Seeded, settings: Settings): Promise<OAuthMeasured> {
  const { clientId, clientSecret } = await server.oauthClient(oauthScope);
  const headers = {
    authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: oauthScope }).toString();

  // Fails loudly unless the endpoint really issues a token that outlives the read scenario and reads with it work.
  const response = await fetch(`http://127.0.0.1:${server.port}${tokenPath}`, { method: 'POST', headers, body });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const token = answer['access_token'];
  const lifetime = Number(answer['expires_in']);
  if (response.status !== 200 || typeof token !== 'string' || token === '' || String(answer['token_type']).toLowerCase() !== 'bearer') {
    // The error fields only: a token never goes to the console.
    throw new Error(`token endpoint check failed: status ${response.status}, error ${String(answer['error'] ?? 'none')}: ${String(answer['error_description'] ?? '')}`);
  }
  if (!(lifetime >= settings.warmupSeconds + settings.seconds + 30)) throw new Error(`token endpoint check failed: the token lives ${lifetime} s, shorter than the read scenario`);
  const id = seeded.observations[0] as string;
  const read = await fhirClient(server.port, token).request('GET', `${fhirBase}/Observation/${id}`);
  if (read.status !== 200 || read.json['id'] !== id) throw new Error(`OAuth read check failed: status ${read.status}`);
  console.log(`  checked: the token endpoint answers 200 with a Bearer token (${oauthScope}, ${lifetime} s); a read with it returns the resource`);

  const oauthRead = await scenario('read Observation (OAuth access token)', server, () => observationReads(seeded, `Bearer ${token}`), settings);
  const tokenEndpoint = await scenario('token endpoint (client credentials, client_secret_basic)', server, () => [{ method: 'POST', path: tokenPath, headers: { ...headers }, body }], settings);
  return { tokenEndpoint, read: oauthRead, scope: oauthScope };
}

function oauthTable(report: EngineReport, settings: Settings): string {
  const o = report.tresor.oauth;
  if (o === undefined) return '';
  const key = report.tresor.read;
  const c = settings.connections;
  return [
    '#### OAuth (SMART Backend Services)',
    '',
    `Baseline: the same reads with an API key, measured in the same run just before the OAuth reads; ratio = OAuth ÷ API key.`,
    '',
    '| | per second | p50 ms | p99 ms | ratio (OAuth ÷ API key) |',
    '|---|---:|---:|---:|---|',
    `| token endpoint, client_credentials, client_secret_basic, ${c} connections | ${rate(o.tokenEndpoint.opsPerSecond)} | ${ms(o.tokenEndpoint.p50Ms)} | ${ms(o.tokenEndpoint.p99Ms)} | — |`,
    `| read Observation, API key (role service), ${c} connections | ${rate(key.opsPerSecond)} | ${ms(key.p50Ms)} | ${ms(key.p99Ms)} | baseline |`,
    `| read Observation, OAuth access token (service-reader, ${o.scope}), ${c} connections | ${rate(o.read.opsPerSecond)} | ${ms(o.read.p50Ms)} | ${ms(o.read.p99Ms)} | ${fixed(o.read.opsPerSecond / key.opsPerSecond, 2)}× req/s, ${fixed(o.read.p99Ms / key.p99Ms, 2)}× p99 |`,
    '',
    '_Each token answer looks the client up, compares its secret\'s hash, stores the opaque token and makes a `token.issued` audit event durable before it leaves. Each read with the token looks it up (opaque, so revocation takes effect at once) and checks that the app is still registered and enabled; an API key is checked without the tenant\'s OAuth tables._',
    '',
  ].join('\n');
}

// ── Sign-in ─────────────────────────────────────────────────────────────────────────────────

const floodConnections = 200;
const readConnectionsDuringFlood = 8;

/**
 * Logins (issue #5): logins/s and their latency with correct passwords; then a 200-connection
 * flood of wrong passwords for unknown emails from ever-changing source addresses (a botnet
 * stuffing credentials: per-address limits do not bite, and an unknown email costs the same
 * argon2 work as a known one) while other users read records with their API key. The reads'
 * p99 during the flood is compared with the same reads alone, in the same run.
 */
async function measureLogins(server: ServerHandle, seeded: Seeded, settings: Settings): Promise<LoginsMeasured> {
  const people = 50;
  process.stdout.write(`  creating ${people} people (argon2id each) … `);
  await server.people(people);
  console.log('done');
  const loginConnections = 4;
  const login = await scenario(`login, correct password (${loginConnections} connections)`, server, () => {
    let n = 0;
    return [
      {
        method: 'POST',
        path: `/tenants/${tenantId}/auth/login`,
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'content-type': 'application/json' }, body: JSON.stringify({ email: personEmail(n++ % people), password: personPassword }) }),
      },
    ];
  }, { ...settings, connections: loginConnections });

  const readRequests = (): CannonRequest[] => {
    let n = Math.floor(Math.random() * seeded.observations.length);
    return [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `${fhirBase}/Observation/${seeded.observations[n++ % seeded.observations.length] as string}` }) }];
  };
  process.stdout.write(`  reads alone (${readConnectionsDuringFlood} connections), ${settings.seconds} s … `);
  await cannon(server, readRequests(), settings.warmupSeconds, readConnectionsDuringFlood);
  const alone = await cannon(server, readRequests(), settings.seconds, readConnectionsDuringFlood);
  const readsAlone = summarise(alone.latencies, alone.result.duration);
  console.log(`p99 ${ms(readsAlone.p99Ms)} ms`);

  process.stdout.write(`  the same reads during a ${floodConnections}-connection wrong-password flood … `);
  let k = 0;
  const flood = autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: floodConnections,
    duration: settings.seconds + 2,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: `/tenants/${tenantId}/auth/login`,
        setupRequest: (request: CannonRequest) => {
          k += 1;
          return {
            ...request,
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}` },
            body: JSON.stringify({ email: `stuffed${k}@bench.example`, password: `guess number ${k}` }),
          };
        },
      },
    ],
  });
  // Let the flood fill the sign-in queue before the reads are measured.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const flooded = await cannon(server, readRequests(), settings.seconds, readConnectionsDuringFlood);
  const floodResult = await flood;
  const readsFlooded = summarise(flooded.latencies, flooded.result.duration);
  const floodAnswers = Object.entries(floodResult.statusCodeStats)
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  console.log(`p99 ${ms(readsFlooded.p99Ms)} ms (flood answered ${floodAnswers}${floodResult.errors > 0 ? `, ${floodResult.errors} errors` : ''})`);
  return {
    people,
    login,
    loginConnections,
    readsAlone,
    readsFlooded,
    readConnections: readConnectionsDuringFlood,
    floodConnections,
    floodAnswers,
    floodPerSecond: (floodResult.non2xx + floodResult['2xx']) / floodResult.duration,
  };
}

function loginTable(report: EngineReport): string {
  const l = report.tresor.logins;
  if (l === undefined) return '';
  const ratio = l.readsFlooded.p99Ms / l.readsAlone.p99Ms;
  return [
    `Sign-in (${l.people} people, argon2id m=19 MiB t=2 p=1, at most ${Math.max(1, os.availableParallelism() - 1)} hash(es) at a time):`,
    '',
    '| | per second | p50 ms | p99 ms | target |',
    '|---|---:|---:|---:|---|',
    `| login, correct password, ${l.loginConnections} connections | ${rate(l.login.opsPerSecond)} | ${ms(l.login.p50Ms)} | ${ms(l.login.p99Ms)} | (measured) |`,
    `| record reads alone, ${l.readConnections} connections | ${rate(l.readsAlone.opsPerSecond)} | ${ms(l.readsAlone.p50Ms)} | ${ms(l.readsAlone.p99Ms)} | baseline |`,
    `| the same reads during a ${l.floodConnections}-connection wrong-password flood | ${rate(l.readsFlooded.opsPerSecond)} | ${ms(l.readsFlooded.p50Ms)} | ${ms(l.readsFlooded.p99Ms)} | p99 ≤ 2× baseline: ${fixed(ratio, 2)}× ${ratio <= 2 ? 'PASS' : 'MISS'} |`,
    '',
    `The flood: unknown emails, a new X-Forwarded-For address per request (trustProxy on), ${rate(l.floodPerSecond)} answers/s: ${l.floodAnswers}.`,
    '',
  ].join('\n');
}

// ── Baselines ───────────────────────────────────────────────────────────────────────────────

interface BaselineRun {
  readonly insert: Measured;
  readonly select: Measured;
  readonly search: Measured;
  readonly description: string;
}

interface BaselineData {
  readonly patients: string[];
  readonly ids: string[];
  /** Rows to preload: the same shape and number as Tresor's seeded Observations. */
  readonly rows: Array<[id: string, patient: string, effective: number, lastUpdated: number, content: string]>;
}

function baselineData(): BaselineData {
  const patients = Array.from({ length: patientCount }, () => randomUUID());
  const rows: BaselineData['rows'] = [];
  const now = Date.now();
  patients.slice(0, searchPatientCount).forEach((p, i) => {
    for (let k = 0; k < observationsPerSearchPatient; k += 1) {
      const n = i * observationsPerSearchPatient + k;
      const id = randomUUID();
      rows.push([id, `Patient/${p}`, Date.parse(effectiveFor(n)), now + n, storedObservation(id, p, n, now + n)]);
    }
  });
  return { patients, ids: rows.map((row) => row[0]), rows };
}

const windowLow = Date.UTC(2020, 0, 1);
const windowHigh = Date.UTC(2030, 0, 1);

/** Rows the insert baselines write: precomputed so that only the engine is timed. */
function insertRows(data: BaselineData): Array<[patient: string, effective: number, content: string]> {
  const others = data.patients.slice(searchPatientCount);
  return Array.from({ length: 1024 }, (_, n) => {
    const p = others[n % others.length] as string;
    return [`Patient/${p}`, Date.parse(effectiveFor(100_000 + n)), storedObservation(randomUUID(), p, 100_000 + n, Date.now())];
  });
}

/** better-sqlite3 on a fresh file, WAL + synchronous=FULL, one connection, a synchronous loop. */
function sqliteBaseline(seconds: number): BaselineRun {
  const dir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-baseline-'));
  const db = new Database(join(dir, 'baseline.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE obs (id TEXT PRIMARY KEY, patient TEXT NOT NULL, code_system TEXT NOT NULL, code TEXT NOT NULL, effective INTEGER NOT NULL, last_updated INTEGER NOT NULL, content TEXT NOT NULL);
             CREATE INDEX obs_search ON obs (patient, code_system, code, effective);`);
    const data = baselineData();
    const insert = db.prepare('INSERT INTO obs (id, patient, code_system, code, effective, last_updated, content) VALUES (?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const [id, p, effective, lastUpdated, content] of data.rows) insert.run(id, p, loinc, heartRate, effective, lastUpdated, content);
    })();

    const timed = (op: (n: number) => void): Measured => {
      const latencies: number[] = [];
      const started = performance.now();
      const deadline = started + seconds * 1000;
      for (let n = 0; ; n += 1) {
        const t0 = performance.now();
        if (t0 >= deadline) break;
        op(n);
        latencies.push(performance.now() - t0);
      }
      return summarise(latencies, (performance.now() - started) / 1000);
    };

    // Autocommit: one transaction, hence one durable WAL fsync, per insert.
    const toInsert = insertRows(data);
    const insertResult = timed((n) => {
      const [p, effective, content] = toInsert[n % toInsert.length] as [string, number, string];
      insert.run(randomUUID(), p, loinc, heartRate, effective, Date.now(), content);
    });

    const byId = db.prepare('SELECT content FROM obs WHERE id = ?').pluck();
    const selectResult = timed((n) => {
      if (byId.get(data.ids[n % data.ids.length]) === undefined) throw new Error('baseline select found nothing');
    });

    // Tresor's search runs a page query (limit + 1, to know whether there is a next page) and a count.
    const where = 'WHERE patient = ? AND code_system = ? AND code = ? AND effective >= ? AND effective < ?';
    const page = db.prepare(`SELECT id, content FROM obs ${where} ORDER BY last_updated, id LIMIT ?`);
    const count = db.prepare(`SELECT COUNT(*) AS total FROM obs ${where}`).pluck();
    const searchPatients = data.patients.slice(0, searchPatientCount);
    const searchResult = timed((n) => {
      const p = `Patient/${searchPatients[n % searchPatients.length] as string}`;
      const rows = page.all(p, loinc, heartRate, windowLow, windowHigh, pageSize + 1);
      const total = count.get(p, loinc, heartRate, windowLow, windowHigh) as number;
      if (rows.length !== pageSize + 1 || total < pageSize) throw new Error('baseline search returned too little');
    });
    return {
      insert: insertResult,
      select: selectResult,
      search: searchResult,
      description: 'better-sqlite3, fresh file, WAL + synchronous=FULL, one connection in a synchronous loop; one table (id PK) + one index (patient, code, date); each insert its own transaction; search = page query + COUNT(*)',
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `pg` on the same server, a scratch schema, `concurrency` callers sharing a pool like Tresor's. */
async function postgresBaseline(url: string, seconds: number, concurrency: number, poolSize: number): Promise<BaselineRun> {
  const schema = `"${schemaPrefix}_baseline"`;
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'tresor-bench-baseline' });
  pool.on('error', () => {});
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(
      `CREATE TABLE ${schema}.obs (id TEXT PRIMARY KEY, patient TEXT COLLATE "C" NOT NULL, code_system TEXT COLLATE "C" NOT NULL, code TEXT COLLATE "C" NOT NULL, effective BIGINT NOT NULL, last_updated BIGINT NOT NULL, content TEXT NOT NULL)`,
    );
    await pool.query(`CREATE INDEX obs_search ON ${schema}.obs (patient, code_system, code, effective)`);
    const data = baselineData();
    for (let offset = 0; offset < data.rows.length; offset += 500) {
      const part = data.rows.slice(offset, offset + 500);
      const values = part.map((_, i) => `($${i * 7 + 1}, $${i * 7 + 2}, $${i * 7 + 3}, $${i * 7 + 4}, $${i * 7 + 5}, $${i * 7 + 6}, $${i * 7 + 7})`).join(', ');
      await pool.query(
        `INSERT INTO ${schema}.obs (id, patient, code_system, code, effective, last_updated, content) VALUES ${values}`,
        part.flatMap(([id, p, effective, lastUpdated, content]) => [id, p, loinc, heartRate, effective, lastUpdated, content]),
      );
    }
    await pool.query(`ANALYZE ${schema}.obs`);

    const timed = async (op: (n: number) => Promise<void>): Promise<Measured> => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (;;) {
            const t0 = performance.now();
            if (t0 >= deadline) return;
            await op(next++);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      return summarise(latencies, (performance.now() - started) / 1000);
    };

    // Autocommit: each insert commits (and flushes WAL) on its own.
    const toInsert = insertRows(data);
    const insertSql = `INSERT INTO ${schema}.obs (id, patient, code_system, code, effective, last_updated, content) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
    const insert = await timed(async (n) => {
      const [p, effective, content] = toInsert[n % toInsert.length] as [string, number, string];
      await pool.query(insertSql, [randomUUID(), p, loinc, heartRate, effective, Date.now(), content]);
    });

    const selectSql = `SELECT content FROM ${schema}.obs WHERE id = $1`;
    const select = await timed(async (n) => {
      const { rowCount } = await pool.query(selectSql, [data.ids[n % data.ids.length]]);
      if (rowCount !== 1) throw new Error('baseline select found nothing');
    });

    const where = `WHERE patient = $1 AND code_system = $2 AND code = $3 AND effective >= $4 AND effective < $5`;
    const pageSql = `SELECT id, content FROM ${schema}.obs ${where} ORDER BY last_updated, id LIMIT $6`;
    const countSql = `SELECT COUNT(*) AS total FROM ${schema}.obs ${where}`;
    const searchPatients = data.patients.slice(0, searchPatientCount);
    const search = await timed(async (n) => {
      const params = [`Patient/${searchPatients[n % searchPatients.length] as string}`, loinc, heartRate, windowLow, windowHigh];
      // Tresor runs the page and the count concurrently; so does the baseline.
      const [rows, total] = await Promise.all([pool.query(pageSql, [...params, pageSize + 1]), pool.query<{ total: string }>(countSql, params)]);
      if (rows.rowCount !== pageSize + 1 || Number(total.rows[0]?.total ?? 0) < pageSize) throw new Error('baseline search returned too little');
    });
    return {
      insert,
      select,
      search,
      description: `pg ${concurrency} concurrent callers over a pool of ${poolSize} (Tresor's storage.postgres.poolSize), scratch schema on the same server; one table (id PK) + one index (patient, code, date); each insert autocommits; search = page query + COUNT(*) in parallel`,
    };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await pool.end();
  }
}

/** ANALYZE on Tresor's tables, as autovacuum would do on its own a little later. */
async function analyzePg(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ schemaname: string; tablename: string }>(
      'SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1::text[]) ORDER BY 1, 2',
      [pgSchemas.slice(0, 2)],
    );
    for (const row of rows) await client.query(`ANALYZE "${row.schemaname}"."${row.tablename}"`);
  } finally {
    await client.end();
  }
}

async function dropPgSchemas(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}


async function pgVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

// ── Report ──────────────────────────────────────────────────────────────────────────────────

interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly baselineSeconds: number;
  readonly connections: number;
  /** PostgreSQL only: ANALYZE Tresor's tables after seeding and after the create scenario. */
  readonly pgAnalyze: boolean;
}

interface TresorRun {
  readonly create: ScenarioResult;
  readonly read: ScenarioResult;
  /** Reads alternating between two tenants (the full run only). */
  readonly twoTenants?: ScenarioResult;
  readonly search: ScenarioResult | undefined;
  readonly seeded: Seeded;
  readonly serverRssBytes: number;
  readonly rotation?: RotationMeasured;
  readonly verified?: { readonly events: number; readonly seconds: number; readonly findings: number };
  readonly logins?: LoginsMeasured;
  /** The token endpoint and reads with an access token (the full run only). */
  readonly oauth?: OAuthMeasured;
}

interface OAuthMeasured {
  /** client_credentials grants, client_secret_basic, one backend service, every answer a new token. */
  readonly tokenEndpoint: ScenarioResult;
  /** The read scenario with one access token in place of the API key. */
  readonly read: ScenarioResult;
  readonly scope: string;
}

interface LoginsMeasured {
  readonly people: number;
  /** Correct passwords of existing people (argon2id verify each), few connections. */
  readonly login: ScenarioResult;
  readonly loginConnections: number;
  /** Other users' record reads alone, then the same reads during the wrong-password flood. */
  readonly readsAlone: Measured;
  readonly readsFlooded: Measured;
  readonly readConnections: number;
  readonly floodConnections: number;
  /** What the flood's requests were answered (401 wrong, 429 throttled, 503 sign-in busy). */
  readonly floodAnswers: string;
  readonly floodPerSecond: number;
}

interface EngineReport {
  readonly engine: Engine;
  readonly engineVersion: string;
  readonly tresor: TresorRun & { readonly search: ScenarioResult };
  readonly plaintext: TresorRun;
  readonly unaudited: TresorRun;
  readonly baseline: BaselineRun;
}

/** Field encryption's cost: the same server and rows, with and without the AES-GCM step. */
function overheadTable(report: EngineReport): string {
  const rows: Array<[string, ScenarioResult, ScenarioResult]> = [
    ['create Observation', report.tresor.create, report.plaintext.create],
    ['read Observation', report.tresor.read, report.plaintext.read],
  ];
  return [
    '#### Field encryption overhead',
    '',
    '| scenario | encrypted req/s | encrypted p99 ms | without the encryption step req/s | p99 ms | overhead | target |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(([name, sealed, plain]) => {
      const overhead = 1 - sealed.opsPerSecond / plain.opsPerSecond;
      return `| ${name} | ${rate(sealed.opsPerSecond)} | ${ms(sealed.p99Ms)} | ${rate(plain.opsPerSecond)} | ${ms(plain.p99Ms)} | ${fixed(overhead * 100, 1)} % | ≤ 15 %: ${overhead <= 0.15 ? 'PASS' : 'SHORT'} |`;
    }),
    '',
    '_"Without the encryption step" is a bench-only path (bench/plaintext-sealer.ts): the same server, keys and blind indexes, storing the fields in clear. Differences of a few percent are within run-to-run noise on this machine._',
    '',
  ].join('\n');
}

/** The audit trail's cost: the same server with and without writing events; and verify speed. */
function auditTable(report: EngineReport): string {
  const rows: Array<[string, ScenarioResult, ScenarioResult, string]> = [
    ['create Observation', report.tresor.create, report.unaudited.create, '—'],
    ['read Observation', report.tresor.read, report.unaudited.read, '≤ 25 %'],
  ];
  const v = report.tresor.verified;
  const two = report.tresor.twoTenants;
  const verifyRate = v === undefined ? Number.NaN : v.events / v.seconds;
  return [
    '#### Audit trail cost',
    '',
    '| scenario | with durable audit req/s | p99 ms | without the audit trail req/s | p99 ms | cost | target |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(([name, audited, bare, target]) => {
      const cost = 1 - audited.opsPerSecond / bare.opsPerSecond;
      return `| ${name} | ${rate(audited.opsPerSecond)} | ${ms(audited.p99Ms)} | ${rate(bare.opsPerSecond)} | ${ms(bare.p99Ms)} | ${fixed(cost * 100, 1)} % | ${target === '—' ? '—' : `${target}: ${cost <= 0.25 ? 'PASS' : 'SHORT'}`} |`;
    }),
    '',
    two === undefined
      ? ''
      : `Reads alternating between two tenants, each with its own chain: ${rate(two.opsPerSecond)} req/s, p99 ${ms(two.p99Ms)} ms, against ${rate(report.tresor.read.opsPerSecond)} req/s, p99 ${ms(report.tresor.read.p99Ms)} ms in one tenant (ratio ${fixed(two.opsPerSecond / report.tresor.read.opsPerSecond, 2)}). Tenants share no audit lock (test/flows/audit/tenant-isolation.test.ts holds one tenant's chain while another is served); each tenant commits its events in its own data set, so reads spread over two tenants share group commits less well.`,
    '',
    v === undefined ? '' : `\`audit verify\` of the bench tenant after all scenarios: ${rate(v.events)} events in ${fixed(v.seconds, 2)} s = **${rate(verifyRate)} events/s** (target ≥ 200,000: ${verifyRate >= 200_000 ? 'PASS' : 'SHORT'}), ${v.findings} findings.`,
    '',
    '_"Without the audit trail" is a bench-only path (bench/no-audit.ts) handed to buildApp in code; no setting disables auditing._',
    '',
  ].join('\n');
}

/** Key rotation: the job's re-encryption pass against the same rows rewritten without crypto. */
function rotationTable(report: EngineReport): string {
  const r = report.tresor.rotation;
  if (r === undefined) return '';
  const fieldsPerSecond = r.fields / r.reencryptSeconds;
  const rowsPerSecond = r.rows / r.reencryptSeconds;
  const baselineRowsPerSecond = r.baselineRows / r.baselineSeconds;
  return [
    '#### Key rotation (`tresor keys rotate --tenant`, after the scenarios above)',
    '',
    '| envelopes (stored versions) | fields inside them | re-encryption pass s | fields/s | envelopes/s | baseline: same rows rewritten without keys or AES-GCM, rows/s | ratio (envelopes/s ÷ rows/s) | target | start to finish s (incl. settling waits) |',
    '|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    `| ${rate(r.rows)} | ${rate(r.fields)} | ${fixed(r.reencryptSeconds, 2)} | ${rate(fieldsPerSecond)} | ${rate(rowsPerSecond)} | ${rate(baselineRowsPerSecond)} | ${fixed(rowsPerSecond / baselineRowsPerSecond, 2)} | ≥ 50,000 fields/s: ${fieldsPerSecond >= 50_000 ? 'PASS' : 'SHORT'} | ${fixed(r.wallSeconds, 1)} |`,
    '',
    `_One envelope seals each stored version, so the job opens and seals one envelope per row; the fields are the sealed elements inside them (the target was written when every field was its own envelope). Retired afterwards: ${r.retired}. The settling waits (one of ~2.5 s from the switch, overlapping the pass, then ~2.5 s after the last row moved) make sure no process still uses the old generation before the floor is raised and old keys are retired; they do not depend on the data size._`,
    '',
  ].join('\n');
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const ms = (value: number) => fixed(value, value < 1 ? 3 : value < 10 ? 2 : 1);
const rate = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');

function mark(result: ScenarioResult, target: number): string {
  const short: string[] = [];
  if (result.opsPerSecond < target) short.push('req/s');
  if (!(result.p99Ms < targets.p99Ms)) short.push('p99');
  if (result.failed > 0) short.push(`${result.failed} failed`);
  return short.length === 0 ? 'PASS' : `SHORT (${short.join(', ')})`;
}

function engineTables(report: EngineReport, settings: Settings): string {
  const { tresor, baseline } = report;
  const rows: Array<[ScenarioResult, Measured, number, string]> = [
    [tresor.create, baseline.insert, targets.create, 'insert'],
    [tresor.read, baseline.select, targets.read, 'select by id'],
    [tresor.search, baseline.search, targets.search, 'search-shaped select'],
  ];
  const title = report.engine === 'sqlite' ? `SQLite ${report.engineVersion} (embedded, field encryption on)` : `PostgreSQL ${report.engineVersion} (field encryption on)`;
  const lines = [
    `### ${title}`,
    '',
    `${settings.connections} connections, ${settings.seconds} s per scenario after ${settings.warmupSeconds} s of warm-up; baseline ${settings.baselineSeconds} s per operation.`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | baseline op | baseline ops/s | baseline p50 ms | baseline p99 ms | ratio (Tresor/baseline) | target | result |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|',
    ...rows.map(
      ([t, b, target, op]) =>
        `| ${t.name} | ${rate(t.opsPerSecond)} | ${ms(t.p50Ms)} | ${ms(t.p99Ms)} | ${op} | ${rate(b.opsPerSecond)} | ${ms(b.p50Ms)} | ${ms(b.p99Ms)} | ${fixed(t.opsPerSecond / b.opsPerSecond, 2)} | ≥ ${target.toLocaleString('en-US')}/s, p99 < ${targets.p99Ms} ms | ${mark(t, target)} |`,
    ),
    '',
    ...(report.engine === 'postgres'
      ? [`_The targets are set for the embedded engine; on PostgreSQL they are shown for comparison. ${
          settings.pgAnalyze
            ? "Tresor's tables were ANALYZEd after seeding and again after the create scenario (the steady state autovacuum reaches on its own); BENCH_PG_ANALYZE=0 measures freshly filled tables without statistics."
            : "Tresor's tables were NOT analyzed (BENCH_PG_ANALYZE=0): this is a freshly filled tenant before autovacuum has gathered statistics."
        }_`, '']
      : []),
    overheadTable(report),
    rotationTable(report),
    auditTable(report),
    loginTable(report),
    oauthTable(report, settings),
    'Diagnostics:',
    '',
    '| scenario | responses 2xx | failed (non-2xx / errors / timeouts) | status codes | Tresor CPU (% of one core) | Tresor event-loop utilisation | autocannon CPU (% of one core) | machine CPU busy (all cores) | autocannon p50 / p99 ms (1 ms resolution) |',
    '|---|---:|---:|---|---:|---:|---:|---:|---|',
    ...[...rows.map(([t]) => t), ...(tresor.twoTenants === undefined ? [] : [tresor.twoTenants]), ...(tresor.oauth === undefined ? [] : [tresor.oauth.read, tresor.oauth.tokenEndpoint])].map(
      (t) =>
        `| ${t.name} | ${t.count.toLocaleString('en-US')} | ${t.failed} | ${t.statusCodes} | ${fixed(t.serverCpuPercent, 0)} % | ${fixed(t.serverEventLoop * 100, 0)} % | ${fixed(t.clientCpuPercent, 0)} % | ${fixed(t.machineBusyPercent, 0)} % | ${t.cannonP50} / ${t.cannonP99} |`,
    ),
    '',
    `- Seed: ${tresor.seeded.patients.length} patients and ${tresor.seeded.observations.length} Observations via transaction Bundles (≤ ${bundleMax} entries) in ${fixed(tresor.seeded.seconds, 1)} s. Creates go to the ${patientCount - searchPatientCount} other patients, so each searched patient keeps ${observationsPerSearchPatient} matches; the tenant held ${(tresor.seeded.observations.length + tresor.create.okIncludingWarmup).toLocaleString('en-US')} Observations during the read and search scenarios.`,
    `- Server RSS at the end: ${fixed(tresor.serverRssBytes / 2 ** 20, 0)} MiB.`,
    `- Baseline: ${baseline.description}.`,
    '',
  ];
  return lines.join('\n');
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

function commandLine(): string {
  const vars = ['BENCH_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_PG_ANALYZE', 'TRESOR_TEST_PG_URL']
    .filter((name) => process.env[name] !== undefined && process.env[name] !== '')
    // A scratch cluster started by scripts/run-bench.mjs is part of the plain command.
    .filter((name) => !(name === 'TRESOR_TEST_PG_URL' && process.env['TRESOR_BENCH_PG_SCRATCH'] === '1'))
    .map((name) => `${name}=${name === 'TRESOR_TEST_PG_URL' ? redactUrl(process.env[name] as string) : (process.env[name] as string)}`);
  const command = process.env['npm_lifecycle_event'] === 'bench' ? 'npm run bench' : 'node --import tsx bench/run.ts';
  return [...vars, command].join(' ');
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────


// ── BENCH_HOT: the record hot path alone ────────────────────────────────────────────────────

/**
 * /healthz, read, token read and create on one SQLite server, with /healthz measured first and
 * last: each scenario's req/s as a ratio to their mean, so runs on a busy shared machine compare
 * by ratio. With BENCH_CPU_PROF=<dir>, one CPU profile of the server per scenario, summarised.
 */
async function hotPath(settings: Settings, profileDir: string | undefined = process.env['BENCH_CPU_PROF'] || undefined): Promise<string> {
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const server = await startServer({ engine: 'sqlite' });
  const summaries: string[] = [];
  const profiled = async (slug: string, name: string, requests: () => CannonRequest[]) => {
    if (profileDir !== undefined) await server.profileStart();
    const result = await scenario(name, server, requests, settings);
    if (profileDir !== undefined) {
      const file = join(profileDir, `${slug}.cpuprofile`);
      await server.profileStop(file);
      summaries.push(`#### ${name} (${file})\n\n${summariseProfile(file)}\n`);
    }
    return result;
  };
  try {
    const client = fhirClient(server.port, server.key);
    const seeded = await seed(client);
    const { clientId, clientSecret } = await server.oauthClient(oauthScope);
    const tokenAnswer = await fetch(`http://127.0.0.1:${server.port}${tokenPath}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: oauthScope }).toString(),
    });
    const token = ((await tokenAnswer.json()) as Record<string, unknown>)['access_token'];
    if (typeof token !== 'string') throw new Error(`token endpoint check failed: status ${tokenAnswer.status}`);
    const createPatients = seeded.patients.slice(searchPatientCount);
    const bodies = Array.from({ length: 1024 }, (_, n) => Buffer.from(JSON.stringify(observation(createPatients[n % createPatients.length] as string, 100_000 + n))));
    const healthz = () => [{ method: 'GET' as const, path: '/healthz' }];
    const first = await profiled('healthz', '/healthz', healthz);
    const read = await profiled('read', 'read Observation', () => observationReads(seeded));
    const tokenRead = await profiled('token-read', 'read Observation (OAuth access token)', () => observationReads(seeded, `Bearer ${token}`));
    const create = await profiled('create', 'create Observation', () => {
      let n = 0;
      return [{ method: 'POST', path: `${fhirBase}/Observation`, setupRequest: (request) => ({ ...request, body: bodies[n++ % bodies.length] as Buffer }) }];
    });
    const last = await scenario('/healthz again', server, healthz, settings);
    const health = (first.opsPerSecond + last.opsPerSecond) / 2;
    // Server CPU time per answer (all its threads): unlike req/s it barely moves when other
    // processes take the cores, and it leaves out disk waits, which are not CPU.
    const cpuPerRequest = (r: ScenarioResult) => (r.serverCpuPercent / 100) * (1e6 / r.opsPerSecond);
    const healthCpu = (cpuPerRequest(first) + cpuPerRequest(last)) / 2;
    const line = (r: ScenarioResult, versus?: ScenarioResult) =>
      `| ${r.name} | ${rate(r.opsPerSecond)} | ${fixed(r.p50Ms, 1)} | ${fixed(r.p99Ms, 1)} | ${fixed(r.opsPerSecond / health, 3)} | ${versus === undefined ? '' : fixed(r.opsPerSecond / versus.opsPerSecond, 2)} | ${fixed(cpuPerRequest(r), 0)} | ${fixed(cpuPerRequest(r) / healthCpu, 1)} | ${versus === undefined ? '' : fixed(cpuPerRequest(r) / cpuPerRequest(versus), 2)} | ${fixed(r.serverEventLoop * 100, 0)} % | ${r.failed} |`;
    const section = [
        '',
        `${settings.connections} connections, ${settings.seconds} s per scenario after ${settings.warmupSeconds} s of warm-up, server from ${fromSource ? 'src/ through tsx' : 'dist/'}; /healthz ${rate(first.opsPerSecond)} and ${rate(last.opsPerSecond)} req/s (first, last).`,
        '',
        '| scenario | req/s | p50 ms | p99 ms | req/s ÷ /healthz | req/s ÷ API-key read | server CPU µs/req | CPU ÷ /healthz | CPU ÷ API-key read | event loop busy | failed |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        line(first),
        line(read),
        line(tokenRead, read),
        line(create),
        line(last),
        '',
        ...summaries,
      ].join('\n');
    console.log(section);
    return section;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const seconds = envNumber('BENCH_SECONDS', 10, false);
  const settings: Settings = {
    seconds,
    warmupSeconds: Math.min(2, Math.max(0.5, seconds / 5)),
    baselineSeconds: Math.max(1, seconds / 2),
    connections: envNumber('BENCH_CONNECTIONS', 32, true),
    pgAnalyze: process.env['BENCH_PG_ANALYZE'] !== '0',
  };
  if (process.env['BENCH_HOT'] === '1') {
    await hotPath(settings);
    return;
  }
  const pgUrl = process.env['TRESOR_TEST_PG_URL'] || undefined;
  const date = new Date();
  const cpus = os.cpus();
  const machine = [
    `- Date: ${date.toISOString()}`,
    `- Command: \`${commandLine()}\``,
    `- CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} (os.cpus())`,
    `- Memory: ${fixed(os.totalmem() / 2 ** 30, 1)} GiB total`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node: ${process.version}`,
    `- Server code: ${fromSource ? 'the TypeScript sources through tsx (BENCH_SOURCE=1)' : 'the compiled build in dist/, as `tresor start` runs it'}`,
    `- Load generator: autocannon in the parent process; Tresor in a child process on the same machine (they share the CPUs${pgUrl === undefined ? '' : ', with PostgreSQL too'}).`,
    `- Data: a temporary directory under ${os.tmpdir()} (SQLite files, synchronous=FULL).`,
  ].join('\n');
  console.log(`Tresor benchmark\n${machine}\n`);

  const reports: EngineReport[] = [];
  const skipped: string[] = [];
  const engines: Engine[] = pgUrl === undefined ? ['sqlite'] : ['sqlite', 'postgres'];
  if (pgUrl === undefined) skipped.push('PostgreSQL: skipped (set TRESOR_TEST_PG_URL=postgres://… to measure it).');
  const poolSize = (await loadServerCode()).loadConfig({ env: {} }).storage.postgres.poolSize;

  for (const engine of engines) {
    console.log(`== ${engine} ==`);
    if (engine === 'postgres') await dropPgSchemas(pgUrl as string);
    try {
      const tresor = await measureTresor(engine, settings, pgUrl);
      console.log('  the same, without the encryption step (bench-only baseline):');
      const plaintext = await measureTresor(engine, settings, pgUrl, 'plaintext');
      console.log('  the same, without the audit trail (bench-only baseline):');
      const unaudited = await measureTresor(engine, settings, pgUrl, 'encrypted', 'off');
      process.stdout.write(`  baseline (${settings.baselineSeconds} s per operation) … `);
      const baseline = engine === 'sqlite' ? sqliteBaseline(settings.baselineSeconds) : await postgresBaseline(pgUrl as string, settings.baselineSeconds, settings.connections, poolSize);
      console.log(`insert ${rate(baseline.insert.opsPerSecond)}/s, select ${rate(baseline.select.opsPerSecond)}/s, search ${rate(baseline.search.opsPerSecond)}/s`);
      const engineVersion = engine === 'sqlite' ? sqliteVersion() : await pgVersion(pgUrl as string);
      const report = { engine, engineVersion, tresor: tresor as EngineReport['tresor'], plaintext, unaudited, baseline };
      reports.push(report);
      console.log(`\n${engineTables(report, settings)}`);
    } finally {
      if (engine === 'postgres') await dropPgSchemas(pgUrl as string);
    }
  }
  for (const line of skipped) console.log(line);

  // Every run ends with the hot path on SQLite: each scenario next to /healthz on the same server
  // (the machine-independent figure) and the CPU profile's top entries per scenario, so a reader
  // sees what limits each. The profiler costs a few per cent, the same in every scenario.
  console.log('== hot path (SQLite, ratios to /healthz, CPU profiles) ==');
  const profiles = process.env['BENCH_CPU_PROF'] || mkdtempSync(join(os.tmpdir(), 'tresor-bench-prof-'));
  const hot = await hotPath(settings, profiles);
  if (!process.env['BENCH_CPU_PROF']) rmSync(profiles, { recursive: true, force: true });

  const markdown = [
    `# Tresor benchmark, ${date.toISOString().slice(0, 10)}`,
    '',
    machine,
    '',
    `Targets (the issue's, for the embedded engine, 32 connections, 2 cores): create ≥ ${targets.create}/s, read ≥ ${targets.read}/s, search ≥ ${targets.search}/s, p99 < ${targets.p99Ms} ms. Latencies are per request, measured by the client over the socket; req/s counts 2xx responses only. Ratio = Tresor req/s ÷ baseline ops/s.`,
    '',
    ...reports.map((report) => engineTables(report, settings)),
    ...skipped.map((line) => `_${line}_\n`),
    '### Hot path (SQLite): each scenario against /healthz of the same server, and where its CPU goes',
    hot,
    '',
  ].join('\n');
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${date.toISOString().slice(0, 10)}-${reports.map((r) => r.engine).join('-')}.md`);
  writeFileSync(file, markdown);
  console.log(`\nWritten to ${file}`);
  if (reports.some((r) => [r.tresor.create, r.tresor.read, r.tresor.twoTenants, r.tresor.search, r.tresor.oauth?.read, r.tresor.oauth?.tokenEndpoint].some((s) => s !== undefined && s.failed > 0))) {
    console.error('Some requests failed: see the "failed" column.');
    process.exitCode = 1;
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serve(JSON.parse(process.argv[serveAt + 1] ?? '{}') as ServeSpec);
} else {
  try {
    await main();
  } catch (error) {
    console.error('\nbenchmark failed:', error);
    process.exitCode = 1;
  }
}
