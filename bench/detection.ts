/**
 * `npm run bench -- detection`: what detection costs and how fast it is.
 *
 *   1. The request path, detection on against off: `tresor start` over one seeded SQLite data
 *      directory with TRESOR_DETECTION=true and =false, alternated per round (the machine's speed
 *      drifts between minutes), reads and creates of Observations over 32 connections. A server
 *      with detection on first lets the rules catch up with what the rounds without appended.
 *   2. Lag under load: while the reads run against the server with detection on, failed sign-ins
 *      against accounts (the brute-force rule at a threshold of 1 for the bench) — the time from
 *      each answered sign-in to its alert in the tenant's data set, read from the file.
 *   3. Rule throughput on one core: 200,000 audit events of a clinic's mix chained into a realm,
 *      then every rule over them (the engine in this process), against the same engine with no
 *      rules (reading the chain and moving the cursor alone) in the same run.
 *
 *   BENCH_SECONDS=8   seconds per measured scenario (after 2 s of warm-up)
 *   BENCH_ROUNDS=2    rounds of off/on
 *   BENCH_EVENTS=200000
 *   BENCH_BATCH=500   events per engine transaction in the throughput run (detection.batchEvents)
 *   BENCH_VARIANTS=off,worker,main  detection off / on its worker thread / on the server thread
 *                  (also: worker-nice0, the worker at the server's priority)
 *   BENCH_CPU_PROF=<dir>  a V8 CPU profile of each engine run (the rules alone, not the seeding)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import type { AuditEventInput } from '../src/audit/index.js';
import { loadConfig } from '../src/config/index.js';
import { createEngine, rules } from '../src/detection/index.js';
import { cpuProfiler } from './cpu-profiler.js';
import { summariseProfile } from './profile-summary.js';

const here = fileURLToPath(import.meta.url);
const cliMain = join(dirname(here), '../src/main.ts');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const eventCount = Number(process.env['BENCH_EVENTS'] ?? 200_000);
const tenant = 'bench';
const password = 'seven hungry otters swim the fjord';
// 40 accounts for each of the first two rounds: each round's failed sign-ins go to accounts the throttle has not seen.
const accounts = 80;

const observation = (patient: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2024-01-01T08:00:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});

/**
 * Detection off; on, on its worker thread (the default, at nice 10); the worker at the server's
 * priority (nice 0); on the server's thread (to compare).
 */
type Variant = 'off' | 'worker' | 'worker-nice0' | 'main';
const variants = (process.env['BENCH_VARIANTS'] ?? 'off,worker,main').split(',') as Variant[];

const serverEnv = (dataDir: string, variant: Variant): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '',
  TRESOR_DATA_DIR: dataDir,
  TRESOR_TLS: 'false',
  TRESOR_LOG_LEVEL: 'silent',
  TRESOR_DETECTION: String(variant !== 'off'),
  TRESOR_DETECTION_THREAD: variant === 'main' ? 'main' : 'worker',
  ...(variant === 'worker-nice0' ? { TRESOR_DETECTION_NICENESS: '0' } : {}),
});

interface Seeded {
  readonly key: string;
  readonly patient: string;
  readonly observation: string;
  readonly emails: readonly string[];
  readonly accountIds: readonly string[];
}

async function seed(dataDir: string): Promise<Seeded> {
  const app = await buildApp(loadConfig({ env: serverEnv(dataDir, 'off'), overrides: {} }));
  try {
    await app.tenants.create(tenant);
    const { key } = await app.apiKeys.create({ tenantId: tenant, role: 'service' });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' };
    const post = async (type: string, body: unknown) => {
      const answer = await app.http.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/${type}`, headers, payload: JSON.stringify(body) });
      if (answer.statusCode !== 201) throw new Error(`seeding ${type}: ${answer.statusCode}`);
      return (JSON.parse(answer.body) as { id: string }).id;
    };
    const patient = await post('Patient', { resourceType: 'Patient', name: [{ family: 'Bench' }], birthDate: '1980-01-01' });
    const emails: string[] = [];
    const accountIds: string[] = [];
    for (let n = 0; n < accounts; n += 1) {
      const email = `nurse${n}@bench.example`;
      const by = { id: 'system:bench', role: 'system', client: 'bench' };
      const { account, setupToken } = await app.accounts.invite({ tenantId: tenant, role: 'clinician', email, by });
      await app.accounts.completeSetup({ tenantId: tenant, token: setupToken, password, sourceIp: '127.0.0.1' });
      emails.push(email);
      accountIds.push(account.id);
    }
    return { key, patient, observation: await post('Observation', observation(patient)), emails, accountIds };
  } finally {
    await app.close();
  }
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

async function startServer(dataDir: string, variant: Variant, port: number, configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'start', '--port', String(port), '--config', configFile], { env: serverEnv(dataDir, variant), stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      if (/listening on/.test(stderr)) resolve();
    });
    child.once('exit', () => reject(new Error(`the server exited: ${stderr}`)));
  });
  return child;
}

type Autocannon = (options: Record<string, unknown>) => Promise<{ requests: { total: number }; latency: { p99: number }; non2xx: number; errors: number }>;

interface PathResult {
  readonly variant: Variant;
  readonly scenario: string;
  readonly perSecond: number;
  readonly p99: number;
  readonly failed: number;
  /** The server process's CPU (user + system, every thread) per request, µs: steadier than req/s on a shared machine. */
  readonly cpuPerRequest: number;
  /** The server's main thread alone (the one that parses, decrypts and answers), µs per request. */
  readonly mainCpuPerRequest: number;
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** CPU µs a process has used (utime + stime from /proc). */
function processCpu(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
}

const percentile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
};

/** Waits until the rules have read the tenant's chain to its head (the detection cursor at the audit head). */
async function caughtUp(dataDir: string): Promise<void> {
  const file = new Database(join(dataDir, 'tenants', `${tenant}.db`), { readonly: true, fileMustExist: true });
  try {
    const gap = file.prepare('SELECT (SELECT seq FROM audit_head WHERE id = 1) - (SELECT seq FROM detection_cursor WHERE id = 1) AS behind');
    const began = performance.now();
    while (Number((gap.get() as { behind: number | null }).behind ?? 0) > 0) {
      if (performance.now() - began > 300_000) throw new Error('the rules did not catch up within 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    file.close();
  }
}

/** Failed sign-ins during the read load; for each, ms from the answer until its alert is in the data set. */
async function lagUnderLoad(base: string, dataDir: string, seeded: Seeded, round: number): Promise<number[]> {
  const file = new Database(join(dataDir, 'tenants', `${tenant}.db`), { readonly: true, fileMustExist: true });
  const lags: number[] = [];
  try {
    const count = file.prepare('SELECT coalesce(sum(count), 0) AS n FROM alerts WHERE rule = ? AND subject = ?');
    // Each round uses its own accounts' alerts: a count that moves is this round's finding.
    for (let n = (round - 1) * 40; n < Math.min(seeded.emails.length, round * 40); n += 1) {
      const subject = `Account/${seeded.accountIds[n]}`;
      const before = Number((count.get('auth.brute-force', subject) as { n: number }).n);
      const answer = await fetch(`${base}/tenants/${tenant}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: seeded.emails[n], password: `wrong guess ${round} ${n}` }) });
      const answered = performance.now();
      if (answer.status !== 401) throw new Error(`a failed sign-in answered ${answer.status}`);
      for (;;) {
        if (Number((count.get('auth.brute-force', subject) as { n: number }).n) > before) break;
        if (performance.now() - answered > 30_000) throw new Error('no alert within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      lags.push(performance.now() - answered);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    file.close();
  }
  return lags;
}

async function requestPath(): Promise<{ results: PathResult[]; lags: number[] }> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-detection-'));
  const configFile = join(dataDir, 'bench-config.json');
  // One failed sign-in is an alert, for the lag measurement (the default is ten in fifteen minutes).
  writeFileSync(configFile, JSON.stringify({ detection: { rules: { 'auth.brute-force': { failures: 1 } } } }));
  const seeded = await seed(dataDir);
  const results: PathResult[] = [];
  const lags: number[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      // Alternate the order: the machine's drift then falls on every side.
      for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
        const port = await freePort();
        const child = await startServer(dataDir, variant, port, configFile);
        const base = `http://127.0.0.1:${port}`;
        const headers = { authorization: `Bearer ${seeded.key}` };
        // What the rounds with detection off appended is a backlog for the rules at the next start
        // with it on: worked off before measuring, so the window holds only its own events' cost.
        if (variant !== 'off') await caughtUp(dataDir);
        const reads = (duration: number) => autocannon({ url: `${base}/tenants/${tenant}/fhir/Observation/${seeded.observation}`, connections: 32, duration, headers });
        const creates = (duration: number) =>
          autocannon({ url: `${base}/tenants/${tenant}/fhir/Observation`, method: 'POST', connections: 32, duration, headers: { ...headers, 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation(seeded.patient)) });
        for (const [scenario, run] of [
          ['read', reads],
          ['create', creates],
        ] as const) {
          await run(2);
          const cpuBefore = processCpu(child.pid as number);
          const mainBefore = processCpu(child.pid as number, child.pid as number);
          const began = performance.now();
          const answer = await run(seconds);
          const wall = (performance.now() - began) / 1000;
          // The engine works off what the scenario appended shortly after: its share is counted too.
          await new Promise((resolve) => setTimeout(resolve, 1500));
          const cpuPerRequest = (processCpu(child.pid as number) - cpuBefore) / Math.max(1, answer.requests.total);
          const mainCpuPerRequest = (processCpu(child.pid as number, child.pid as number) - mainBefore) / Math.max(1, answer.requests.total);
          results.push({ variant, scenario, perSecond: answer.requests.total / wall, p99: answer.latency.p99, failed: answer.non2xx + answer.errors, cpuPerRequest, mainCpuPerRequest });
          const last = results.at(-1) as PathResult;
          console.log(`round ${round}, detection ${variant}, ${scenario}: ${Math.round(last.perSecond)} req/s, p99 ${last.p99} ms, server CPU ${Math.round(cpuPerRequest)} µs/req (main thread ${Math.round(mainCpuPerRequest)})`);
        }
        // Two rounds of 40 failed sign-ins each from one address: more would meet the sign-in throttle.
        if (variant === 'worker' && round <= 2) {
          // The read load runs on meanwhile (40 sign-ins take 10–20 s).
          const load = reads(30);
          lags.push(...(await lagUnderLoad(base, dataDir, seeded, round)));
          console.log(`round ${round}: lag event → alert under read load, p50 ${Math.round(percentile(lags, 0.5))} ms, p99 ${Math.round(percentile(lags, 0.99))} ms`);
          await load;
        }
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { results, lags };
}

/** A clinic's mix: mostly reads of many patients by a few people and keys, some searches, sign-ins, a few failures. */
function clinicEvents(count: number): AuditEventInput[] {
  const events: AuditEventInput[] = [];
  for (let n = 0; n < count; n += 1) {
    const person = n % 17;
    const base = { status: 200, purpose: 'TREAT' as const, classes: ['health'], requestId: `r${n}`, sourceIp: `10.0.${person}.${n % 5}`, detail: '', outcome: 'success' as const };
    const actor = { id: `account:${person}`, role: person < 3 ? 'service' : 'clinician', client: person < 3 ? 'integration' : 'session' };
    const kind = n % 20;
    if (kind < 14) events.push({ ...base, action: 'record.read', actor, resources: [`Observation/o${n}`], subjects: [`Patient/p${n % 900}`] });
    else if (kind < 17) events.push({ ...base, action: 'record.searched', actor, resources: Array.from({ length: 20 }, (_, i) => `Observation/s${n}-${i}`), subjects: [`Patient/p${n % 900}`] });
    else if (kind < 18) events.push({ ...base, action: 'auth.login_succeeded', actor, purpose: 'HOPERAT', resources: [`Account/${person}`], subjects: [], classes: [] });
    else if (kind < 19) events.push({ ...base, action: 'auth.login_failed', status: 401, outcome: 'failure', actor: { id: 'unknown', role: 'none', client: 'tresor-auth' }, purpose: 'HOPERAT', resources: [], subjects: [], classes: [] });
    else events.push({ ...base, action: 'access.denied', status: 403, outcome: 'failure', actor, resources: [`Patient/p${n % 900}`], subjects: [`Patient/p${n % 900}`], classes: [] });
  }
  return events;
}

async function throughput(): Promise<Array<{ name: string; perSecond: number; perCpuSecond: number; seconds: number }>> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-rules-'));
  const app = await buildApp(loadConfig({ env: serverEnv(dataDir, 'off'), overrides: {} }));
  const measured: Array<{ name: string; perSecond: number; perCpuSecond: number; seconds: number }> = [];
  try {
    const realms = ['rules-a', 'rules-b'];
    for (const realm of realms) {
      await app.tenants.create(realm);
      const events = clinicEvents(eventCount);
      for (let i = 0; i < events.length; i += 2000) await app.audit.record(realm, events.slice(i, i + 2000));
    }
    // Same events in two realms: the baseline reads one, every rule the other.
    for (const [name, realm, set] of [
      ['reading the chain and moving the cursor, no rules', 'rules-a', []],
      [`every rule (${rules.length})`, 'rules-b', rules],
    ] as const) {
      const engine = createEngine({ storage: app.storage, clock: { now: () => new Date() }, rules: set, overrides: {}, operatorRealm: 'operators', store: (tx, raised) => app.alerts.store(tx, raised), batchEvents: Number(process.env["BENCH_BATCH"] ?? 500) });
      // The cursor starts at the head on a first look: set it to 0 first, as a realm that existed before detection.
      const db = await app.storage.tenant(realm);
      await db.execute(`INSERT INTO ${db.table('detection_cursor')} (id, seq) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET seq = 0`);
      const profileDir = process.env['BENCH_CPU_PROF'];
      const profiler = profileDir === undefined ? undefined : cpuProfiler();
      await profiler?.start();
      const began = performance.now();
      const cpu = process.cpuUsage();
      const evaluated = await engine.evaluate(realm);
      const wall = (performance.now() - began) / 1000;
      const used = process.cpuUsage(cpu);
      if (profiler !== undefined && profileDir !== undefined) {
        mkdirSync(profileDir, { recursive: true });
        const file = join(profileDir, `detection-${set.length === 0 ? 'no-rules' : 'rules'}.cpuprofile`);
        await profiler.stop(file);
        console.log(summariseProfile(file, 20));
      }
      measured.push({ name, perSecond: evaluated / wall, perCpuSecond: evaluated / ((used.user + used.system) / 1e6), seconds: wall });
      console.log(`${name}: ${evaluated} events in ${wall.toFixed(2)} s (${Math.round(evaluated / wall)} events/s, CPU ${((used.user + used.system) / 1e6).toFixed(2)} s)`);
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return measured;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const engineRuns = await throughput();
const { results, lags } = await requestPath();
const rows: string[] = [];
for (const scenario of ['read', 'create']) {
  const off = results.filter((r) => r.scenario === scenario && r.variant === 'off');
  for (const variant of variants.filter((v) => v !== 'off')) {
    const on = results.filter((r) => r.scenario === scenario && r.variant === variant);
    const ratios = on.map((r, i) => r.perSecond / (off[i]?.perSecond ?? r.perSecond));
    const mainRatios = on.map((r, i) => r.mainCpuPerRequest / (off[i]?.mainCpuPerRequest ?? r.mainCpuPerRequest));
    rows.push(
      `| ${scenario} | ${variant === 'worker' ? 'worker thread' : variant === 'worker-nice0' ? 'worker thread, nice 0' : 'server thread'} | ${off.map((r) => fmt(r.perSecond)).join(', ')} | ${on.map((r) => fmt(r.perSecond)).join(', ')} | ${ratios.map((x) => x.toFixed(2)).join(', ')} | ${off.map((r) => fmt(r.mainCpuPerRequest)).join(', ')} / ${on.map((r) => fmt(r.mainCpuPerRequest)).join(', ')} | ${mainRatios.map((x) => x.toFixed(2)).join(', ')} | ${off.map((r) => fmt(r.cpuPerRequest)).join(', ')} / ${on.map((r) => fmt(r.cpuPerRequest)).join(', ')} | ${off.map((r) => r.p99).join(', ')} / ${on.map((r) => r.p99).join(', ')} | ${[...off, ...on].reduce((sum, r) => sum + r.failed, 0)} |`,
    );
  }
}
const cpu = os.cpus();
const baseline = engineRuns[0]?.perSecond ?? 0;
const text = [
  `## Detection: request path on/off, lag under load, rule throughput (SQLite), ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores; Node ${process.version}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
  `Command: \`npm run bench -- detection\` (BENCH_SECONDS=${seconds}, BENCH_ROUNDS=${rounds}, BENCH_EVENTS=${eventCount}, BENCH_VARIANTS=${variants.join(',')}).`,
  '',
  '### Requests with detection off and on (`tresor start`, 32 connections, one tenant)',
  '',
  '| scenario | rules on | off, req/s per round | on, req/s per round | on ÷ off, same round | server thread CPU µs/req off / on | server thread on ÷ off | process CPU µs/req off / on | p99 ms off / on | failed |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  `### Lag from an answered request to its alert, under the read load: ${lags.length} failed sign-ins, p50 ${fmt(percentile(lags, 0.5))} ms, p99 ${fmt(percentile(lags, 0.99))} ms, max ${fmt(Math.max(...lags))} ms`,
  '',
  '### Rule throughput on one core (one realm, in process)',
  '',
  '| engine | events/s (wall) | events per CPU second (one core) | ÷ no rules (wall) |',
  '|---|---:|---:|---:|',
  ...engineRuns.map((r) => `| ${r.name} | ${fmt(r.perSecond)} | ${fmt(r.perCpuSecond)} | ${(r.perSecond / baseline).toFixed(2)} |`),
  '',
].join('\n');
console.log(`\n${text}`);
const dir = join(dirname(here), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-detection.md`), text);
