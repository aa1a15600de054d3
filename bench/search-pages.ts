/**
 * `npm run bench -- search`: the cost of one search page as the number of matches grows. One
 * patient each with 100, 10,000 and 100,000 body-weight Observations (seeded through the records
 * service in batches: validated, sealed, indexed; bench/search-seed.ts), then
 * `Observation?patient=P&code=http://loinc.org|29463-7&date=ge2025-01-01&_count=50` per patient,
 * with `_total` left out (the default), `none` and `accurate`, by one client in a loop and by
 * autocannon over 32 connections; and the page 5,000 matches deep, by next-link cursor and by
 * `_offset`. Page time should not follow the number of matches: each row's ratio is to the
 * 100-match patient in the same run.
 *
 *   BENCH_SECONDS=3          seconds per measurement
 *   BENCH_CONNECTIONS=32     concurrent connections of the loaded measurement
 *   BENCH_SEARCH_SIZES=100,10000,100000   matches per patient
 *   TRESOR_TEST_PG_URL       postgres://… — when set, PostgreSQL is measured after SQLite
 *
 * The server runs in a child process (this file with `--serve`), as in bench/run.ts, so that the
 * clients and Tresor do not share one event loop. Results go to stdout and to
 * bench/results/<date>-search-pages.md.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchServer, dropBenchSchemas, runBench, writeBenchReport, bodyWeight, loinc, seedPatient } from './search-seed.js';

type Engine = 'sqlite' | 'postgres';
const tenantId = 'bench-search';
const schemaPrefix = 'benchsearch';
const deepPosition = 5_000;

const numberFrom = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const settings = {
  seconds: numberFrom('BENCH_SECONDS', 3),
  connections: numberFrom('BENCH_CONNECTIONS', 32),
  sizes: (process.env['BENCH_SEARCH_SIZES'] ?? '100,10000,100000').split(',').map(Number),
};

type FromServer = { type: 'ready'; port: number; key: string; patients: string[]; seedSeconds: number; observations: number };

async function serve(engine: Engine, pgUrl: string | undefined): Promise<void> {
  const { app, key } = await benchServer(engine, pgUrl, { dirPrefix: 'tresor-bench-search-', schemaPrefix, tenantId });
  const began = performance.now();
  const patients: string[] = [];
  for (const size of settings.sizes) patients.push(await seedPatient(app, tenantId, size));
  const seedSeconds = (performance.now() - began) / 1000;
  if (engine === 'postgres') {
    // As autovacuum would shortly after a bulk load (bench/run.ts does the same).
    const db = await app.storage.tenant(tenantId);
    for (const table of ['search_index', 'resources', 'resource_versions', 'resource_links']) await db.execute(`ANALYZE ${db.table(table)}`);
  }
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const address = app.http.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.send?.({ type: 'ready', port: address.port, key, patients, seedSeconds, observations: settings.sizes.reduce((a, b) => a + b, 0) } satisfies FromServer);
}

interface Measured {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

function summarise(latencies: number[], seconds: number): Measured {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { perSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99) };
}

/** One client, one request at a time. */
async function oneClient(port: number, key: string, path: string, seconds: number): Promise<Measured> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const began = performance.now();
  while (performance.now() < until) {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${key}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`search answered ${response.status}`);
    latencies.push(performance.now() - started);
  }
  return summarise(latencies, (performance.now() - began) / 1000);
}

type Cannon = (options: Record<string, unknown>) => PromiseLike<{ non2xx: number; errors: number }> & { on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void };
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

async function loaded(port: number, key: string, path: string, seconds: number, connections: number): Promise<Measured> {
  const latencies: number[] = [];
  const instance = autocannon({ url: `http://127.0.0.1:${port}${path}`, connections, duration: seconds, headers: { authorization: `Bearer ${key}` } });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const result = await instance;
  if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed searches`);
  return summarise(latencies, seconds);
}

const searchPath = (patient: string, extra = '') =>
  `/tenants/${tenantId}/fhir/Observation?patient=${patient}&code=${encodeURIComponent(`${loinc}|${bodyWeight}`)}&date=ge2025-01-01&_count=50${extra}`;

/** The next link after `position` matches, by following cursors (as a client would). */
async function cursorAt(port: number, key: string, patient: string, position: number): Promise<string> {
  let path = searchPath(patient, '&_total=none&_count=1000');
  for (let seen = 0; seen < position; seen += 1000) {
    const bundle = (await (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { link: Array<{ relation: string; url: string }> };
    const next = bundle.link.find((l) => l.relation === 'next');
    if (next === undefined) throw new Error('fewer matches than the deep position');
    const url = new URL(next.url);
    path = `${url.pathname}${url.search}`;
  }
  return path.replace('_count=1000', '_count=50');
}

interface Row {
  readonly what: string;
  readonly matches: number;
  readonly one: Measured;
  readonly many: Measured | undefined;
}

async function measureEngine(engine: Engine, pgUrl: string | undefined): Promise<{ rows: Row[]; seeded: string }> {
  if (engine === 'postgres') await dropBenchSchemas(pgUrl as string, schemaPrefix);
  const child = fork(fileURLToPath(import.meta.url), ['--serve', engine, pgUrl ?? ''], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<FromServer>((resolve, reject) => {
    child.once('message', (message: FromServer) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  const seeded = `${ready.observations.toLocaleString('en')} Observations seeded in ${ready.seedSeconds.toFixed(0)} s (${(ready.observations / ready.seedSeconds).toFixed(0)}/s, sealed and indexed, batches of 500)`;
  console.log(`  ${seeded}`);
  const rows: Row[] = [];
  try {
    const { port, key } = ready;
    for (const [n, patient] of ready.patients.entries()) {
      const matches = settings.sizes[n] as number;
      for (const [what, extra, withLoad] of [
        ['page 1, _total left out', '', true],
        ['page 1, _total=none', '&_total=none', true],
        ['page 1, _total=accurate', '&_total=accurate', false],
      ] as const) {
        const path = searchPath(patient, extra);
        await oneClient(port, key, path, 0.5);
        const one = await oneClient(port, key, path, settings.seconds);
        const many = withLoad ? await loaded(port, key, path, settings.seconds, settings.connections) : undefined;
        rows.push({ what, matches, one, many });
        console.log(`  ${matches} matches, ${what}: one client p50 ${one.p50.toFixed(1)} ms${many === undefined ? '' : `; ${settings.connections} connections ${many.perSecond.toFixed(0)}/s p99 ${many.p99.toFixed(1)} ms`}`);
      }
      if (matches > deepPosition) {
        for (const [what, path] of [
          [`page at ${deepPosition.toLocaleString('en')}, next-link cursor`, await cursorAt(port, key, patient, deepPosition)],
          [`page at ${deepPosition.toLocaleString('en')}, _offset`, searchPath(patient, `&_total=none&_offset=${deepPosition}`)],
        ] as const) {
          const one = await oneClient(port, key, path, settings.seconds);
          rows.push({ what, matches, one, many: undefined });
          console.log(`  ${matches} matches, ${what}: one client p50 ${one.p50.toFixed(1)} ms`);
        }
      }
    }
  } finally {
    child.send({ type: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { rows, seeded };
}


function table(rows: readonly Row[]): string {
  const smallest = Math.min(...rows.map((r) => r.matches));
  const base = (what: string) => rows.find((r) => r.what === what && r.matches === smallest);
  const ms = (n: number) => n.toFixed(1);
  const lines = [
    `| search | matches | one client p50 / p99 ms | × the ${smallest}-match p50 | ${settings.connections} connections req/s | p50 / p99 ms |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const b = base(r.what) ?? base('page 1, _total=none');
    lines.push(
      `| ${r.what} | ${r.matches.toLocaleString('en')} | ${ms(r.one.p50)} / ${ms(r.one.p99)} | ${b === undefined ? '' : (r.one.p50 / b.one.p50).toFixed(2)} | ${r.many === undefined ? '' : r.many.perSecond.toFixed(0)} | ${r.many === undefined ? '' : `${ms(r.many.p50)} / ${ms(r.many.p99)}`} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const pgUrl = process.env['TRESOR_TEST_PG_URL'];
  const engines: Engine[] = pgUrl === undefined || pgUrl === '' ? ['sqlite'] : ['sqlite', 'postgres'];
  const cpu = os.cpus();
  const sections: string[] = [];
  for (const engine of engines) {
    console.log(`${engine}:`);
    const { rows, seeded } = await measureEngine(engine, pgUrl);
    sections.push(`## ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n\n${seeded}.\n\n${table(rows)}`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const report = [
    `# Search pages — ${date}`,
    '',
    `${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, Node ${process.version}. \`Observation?patient=P&code=${loinc}|${bodyWeight}&date=ge2025-01-01&_count=50\`, field encryption, durable audit and the permission guard on (API key, role service). ${settings.seconds} s per measurement; the ratio column compares with the 100-match patient in the same run.`,
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
  writeBenchReport('search-pages', date, report);
}

runBench(serve, main);
