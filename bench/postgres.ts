/**
 * `node --import tsx bench/postgres.ts`: PostgreSQL alone, create and read Observation, short
 * runs, for A/B work on the storage path. The full benchmark (bench/run.ts) takes many minutes
 * per engine; this measures only what the PostgreSQL path changes, next to the raw engine in the
 * same run (the same pool size and concurrency, straight through `pg`).
 *
 *   TRESOR_TEST_PG_URL     postgres://… (required)
 *   BENCH_SECONDS=5        seconds per scenario (after 1 s of warm-up)
 *   BENCH_CONNECTIONS=32   concurrent HTTP connections, and concurrent baseline callers
 *   BENCH_POOL_SIZES=10    storage.postgres.poolSize, one server per size (e.g. 8,16,32)
 *   BENCH_STATEMENTS=1     count statements and transactions per request with pg_stat_statements
 *                          (the cluster must preload it; skipped when it does not)
 *   BENCH_SCENARIOS=create,read   which scenarios (one alone gives a profile of it alone)
 *   BENCH_PROFILE=<dir>    write a --cpu-prof profile of each server process there
 *
 * The server is bench/run.ts's `--serve` child, built as `main` builds it, from dist/ (rebuilt
 * first when older than src/; BENCH_SOURCE=1 and BENCH_DIST as for bench/run.ts).
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureBuilt } from './server-code.js';

const defaults = { seconds: 5, warmupSeconds: 1, connections: 32, poolSizes: [10], patients: 50, observations: 2000 } as const;

const url = process.env['TRESOR_TEST_PG_URL'];
if (url === undefined || url === '') throw new Error('set TRESOR_TEST_PG_URL=postgres://…');
const seconds = Number(process.env['BENCH_SECONDS'] ?? defaults.seconds);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? defaults.connections);
const poolSizes = (process.env['BENCH_POOL_SIZES'] ?? defaults.poolSizes.join(',')).split(',').map(Number);
const countStatements = process.env['BENCH_STATEMENTS'] !== '0';
const profileDir = process.env['BENCH_PROFILE'];
const scenarios = new Set((process.env['BENCH_SCENARIOS'] ?? 'create,read').split(','));
const fhirBase = '/tenants/bench/fhir';
const loinc = 'http://loinc.org';

interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
}
type CannonRequest = { method?: 'GET' | 'POST'; path?: string; body?: Buffer; setupRequest?: (request: CannonRequest) => CannonRequest };
const autocannon = createRequire(import.meta.url)('autocannon') as (options: object) => EventEmitter & PromiseLike<CannonResult>;

const observation = (patientId: string, n: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
  code: { coding: [{ system: loinc, code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString(),
  valueQuantity: { value: 55 + (n % 50), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});

interface Server {
  port: number;
  key: string;
  /** CPU time of the server process so far, µs. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * CPU time of the PostgreSQL server's processes so far (µs), when it runs on this machine and its
 * data directory is readable: the postmaster and every child. Undefined otherwise.
 */
function postgresCpuMicros(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const tick = 1_000_000 / 100; // USER_HZ
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) !== postmaster && Number(fields[1]) !== postmaster) continue;
    total += (Number(fields[11]) + Number(fields[12])) * tick;
  }
  return total;
}

async function findPostmaster(admin: pg.Client): Promise<number | undefined> {
  try {
    const { rows } = await admin.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
    return Number(readFileSync(join(rows[0]?.setting as string, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

async function startServer(poolSize: number): Promise<Server> {
  ensureBuilt();
  const execArgv = profileDir === undefined ? process.execArgv : [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const runTs = join(dirname(fileURLToPath(import.meta.url)), 'run.ts');
  const child = fork(runTs, ['--serve', JSON.stringify({ engine: 'postgres', pgUrl: url, poolSize })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const ready = await new Promise<{ port: number; key: string }>((resolve, reject) => {
    child.once('message', (message: { type: string; port: number; key: string }) => (message.type === 'ready' ? resolve(message) : reject(new Error(message.type))));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return {
    ...ready,
    cpuMicros: () =>
      new Promise((resolve) => {
        const listen = (message: { type: string; cpuMicros: number }) => {
          if (message.type !== 'stats') return;
          child.off('message', listen);
          resolve(message.cpuMicros);
        };
        child.on('message', listen);
        child.send({ type: 'stats' });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

async function request(port: number, key: string, method: string, path: string, body?: unknown): Promise<Record<string, any>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, any>;
}

async function transaction(port: number, key: string, resources: object[]): Promise<string[]> {
  const bundle = await request(port, key, 'POST', fhirBase, { resourceType: 'Bundle', type: 'transaction', entry: resources.map((resource) => ({ request: { method: 'POST', url: (resource as { resourceType: string }).resourceType }, resource })) });
  return (bundle['entry'] as Array<{ response: { location: string } }>).map((entry) => entry.response.location.split('/')[1] as string);
}

async function cannon(port: number, key: string, requests: CannonRequest[], duration: number): Promise<CannonResult> {
  return autocannon({ url: `http://127.0.0.1:${port}`, connections, duration, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' }, requests });
}

interface Counted {
  calls: number;
  transactions: number;
  byStatement: Array<{ calls: number; query: string }>;
}

async function statementCounts(admin: pg.Client | undefined, run: () => Promise<unknown>): Promise<Counted | undefined> {
  if (admin === undefined) {
    await run();
    return undefined;
  }
  await admin.query('SELECT pg_stat_statements_reset()');
  const before = await admin.query<{ xact_commit: string }>('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()');
  await run();
  const after = await admin.query<{ xact_commit: string }>('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()');
  const rows = await admin.query<{ calls: string; query: string }>("SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' ORDER BY calls DESC");
  return {
    calls: rows.rows.reduce((sum, row) => sum + Number(row.calls), 0),
    transactions: Number(after.rows[0]?.xact_commit) - Number(before.rows[0]?.xact_commit),
    byStatement: rows.rows.slice(0, 12).map((row) => ({ calls: Number(row.calls), query: row.query.replace(/\s+/g, ' ').slice(0, 140) })),
  };
}

async function scenario(name: string, server: Server, requests: () => CannonRequest[], admin: pg.Client | undefined, postmaster: number | undefined): Promise<void> {
  const { port, key } = server;
  await cannon(port, key, requests(), defaults.warmupSeconds);
  const nodeBefore = await server.cpuMicros();
  const pgBefore = postgresCpuMicros(postmaster);
  let result: CannonResult | undefined;
  // Monotonic µs, the clock of V8's profile timestamps: to cut a profile to the measured window.
  const from = process.hrtime.bigint() / 1000n;
  const counted = await statementCounts(admin, async () => (result = await cannon(port, key, requests(), seconds)));
  const r = result as CannonResult;
  const nodeCpu = (await server.cpuMicros()) - nodeBefore;
  const pgAfter = postgresCpuMicros(postmaster);
  if (profileDir !== undefined) console.log(`  (${name} measured from ${from} to ${process.hrtime.bigint() / 1000n} µs monotonic)`);
  const ok = r['2xx'];
  const failed = r.non2xx + r.errors + r.timeouts;
  // CPU per request moves far less than req/s when other work shares the machine.
  const pgCpu = pgAfter === undefined || pgBefore === undefined ? '' : `, PostgreSQL ${((pgAfter - pgBefore) / ok).toFixed(0)} µs`;
  console.log(`  ${name}: ${(ok / r.duration).toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms${failed > 0 ? `, ${failed} FAILED` : ''}; CPU per request: Tresor ${(nodeCpu / ok).toFixed(0)} µs${pgCpu}`);
  if (counted !== undefined && ok > 0) {
    console.log(`    per request: ${(counted.calls / ok).toFixed(2)} statements, ${(counted.transactions / ok).toFixed(2)} commits (pg_stat_database.xact_commit)`);
    for (const s of counted.byStatement) console.log(`      ${(s.calls / ok).toFixed(3)}  ${s.query}`);
  }
}

async function baseline(poolSize: number, postmaster: number | undefined): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const schema = '"bench_pg_baseline"';
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.obs (id TEXT PRIMARY KEY, patient TEXT NOT NULL, content TEXT NOT NULL)`);
  const content = JSON.stringify(observation('p', 1));
  const ids: string[] = [];
  const timed = async (name: string, op: (n: number) => Promise<unknown>) => {
    let done = 0;
    let next = 0;
    const pgBefore = postgresCpuMicros(postmaster);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < deadline) {
          await op(next++);
          done += 1;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const pgAfter = postgresCpuMicros(postmaster);
    const pgCpu = pgAfter === undefined || pgBefore === undefined ? '' : `, PostgreSQL ${((pgAfter - pgBefore) / done).toFixed(0)} µs`;
    console.log(`  raw engine ${name} (pool ${poolSize}, ${connections} callers): ${(done / elapsed).toFixed(0)} ops/s; CPU per op: client ${((cpu.user + cpu.system) / done).toFixed(0)} µs${pgCpu}`);
  };
  await timed('insert (autocommit)', async () => {
    const id = randomUUID();
    ids.push(id);
    await pool.query(`INSERT INTO ${schema}.obs (id, patient, content) VALUES ($1, $2, $3)`, [id, 'Patient/p', content]);
  });
  await timed('select by id', (n) => pool.query(`SELECT content FROM ${schema}.obs WHERE id = $1`, [ids[n % ids.length]]));
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
}

async function dropSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'");
  for (const { nspname } of rows) await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
  await client.end();
}

async function main(): Promise<void> {
  let admin: pg.Client | undefined;
  if (countStatements) {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const loaded = await admin.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").catch(() => ({ rowCount: 0 }));
    if (loaded.rowCount === 0) {
      console.log('(pg_stat_statements is not installed: statement counts skipped)');
      await admin.end();
      admin = undefined;
    }
  }
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  const postmaster = await findPostmaster(probe);
  await probe.end();
  for (const poolSize of poolSizes) {
    await dropSchemas();
    console.log(`pool ${poolSize}, ${connections} connections, ${seconds} s per scenario`);
    const server = await startServer(poolSize);
    try {
      const patients = await transaction(server.port, server.key, Array.from({ length: defaults.patients }, (_, n) => ({ resourceType: 'Patient', name: [{ family: `Bench${n}` }], gender: 'female' })));
      const observations: string[] = [];
      for (let n = 0; n < defaults.observations; n += 500) observations.push(...(await transaction(server.port, server.key, Array.from({ length: 500 }, (_, i) => observation(patients[(n + i) % patients.length] as string, n + i)))));
      const bodies = Array.from({ length: 512 }, (_, n) => Buffer.from(JSON.stringify(observation(patients[n % patients.length] as string, 10_000 + n))));
      if (scenarios.has('create')) await scenario('create Observation', server, () => {
        let n = 0;
        return [{ method: 'POST', path: `${fhirBase}/Observation`, setupRequest: (r) => ({ ...r, body: bodies[n++ % bodies.length] as Buffer }) }];
      }, admin, postmaster);
      if (scenarios.has('read')) await scenario('read Observation', server, () => {
        let n = Math.floor(Math.random() * observations.length);
        return [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `${fhirBase}/Observation/${observations[n++ % observations.length] as string}` }) }];
      }, admin, postmaster);
    } finally {
      await server.stop();
    }
    await baseline(poolSize, postmaster);
  }
  await admin?.end();
  await dropSchemas();
}

await main();
