/**
 * `npm run bench -- everything`: `Patient/{id}/$everything` for a patient with 10,000
 * Observations — time to the first byte and to the last page (every page, `_count=1000`,
 * following the next links as a client would) — against reading the same records one by one
 * (`GET Observation/{id}`, one client, one request at a time) in the same run, as a ratio.
 *
 *   BENCH_EVERYTHING_SIZE=10000   Observations of the patient
 *   BENCH_EVERYTHING_ROUNDS=3     $everything runs (the median is reported); the one-by-one read runs once
 *   TRESOR_TEST_PG_URL            postgres://… — when set, PostgreSQL is measured after SQLite
 *
 * The server runs in a child process (this file with `--serve`), as in bench/search-pages.ts,
 * so that the client and Tresor do not share one event loop. Field encryption, the durable audit
 * trail (one `record.exported` event per page, one `record.read` per single read) and the
 * permission guard are on (API key, role service). Results go to stdout and to
 * bench/results/<date>-everything.md.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchServer, dropBenchSchemas, runBench, writeBenchReport, seedPatient } from './search-seed.js';

type Engine = 'sqlite' | 'postgres';
const tenantId = 'bench-everything';
const schemaPrefix = 'bencheverything';

const numberFrom = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const settings = { size: numberFrom('BENCH_EVERYTHING_SIZE', 10_000), rounds: numberFrom('BENCH_EVERYTHING_ROUNDS', 3) };

type FromServer = { type: 'ready'; port: number; key: string; patient: string; seedSeconds: number };

async function serve(engine: Engine, pgUrl: string | undefined): Promise<void> {
  const { app, key } = await benchServer(engine, pgUrl, { dirPrefix: 'tresor-bench-everything-', schemaPrefix, tenantId });
  const began = performance.now();
  const patient = await seedPatient(app, tenantId, settings.size);
  const seedSeconds = (performance.now() - began) / 1000;
  if (engine === 'postgres') {
    // As autovacuum would shortly after a bulk load (bench/run.ts does the same).
    const db = await app.storage.tenant(tenantId);
    for (const table of ['search_index', 'resources', 'resource_versions', 'resource_links']) await db.execute(`ANALYZE ${db.table(table)}`);
  }
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const address = app.http.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.send?.({ type: 'ready', port: address.port, key, patient, seedSeconds } satisfies FromServer);
}

interface Everything {
  readonly firstByteMs: number;
  readonly totalMs: number;
  readonly pages: number;
  readonly ids: string[];
}

/** Every page of $everything, following next links; the first byte is the first page's headers. */
async function everything(port: number, key: string, patient: string): Promise<Everything> {
  const headers = { authorization: `Bearer ${key}` };
  const began = performance.now();
  let path: string | undefined = `/tenants/${tenantId}/fhir/Patient/${patient}/$everything?_count=1000`;
  let firstByteMs = 0;
  let pages = 0;
  const ids: string[] = [];
  while (path !== undefined) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
    if (pages === 0) firstByteMs = performance.now() - began;
    if (response.status !== 200) throw new Error(`$everything answered ${response.status}`);
    const bundle = (await response.json()) as { link: Array<{ relation: string; url: string }>; entry: Array<{ resource: { resourceType: string; id: string } }> };
    for (const e of bundle.entry) ids.push(`${e.resource.resourceType}/${e.resource.id}`);
    pages += 1;
    const next = bundle.link.find((l) => l.relation === 'next');
    path = next === undefined ? undefined : `${new URL(next.url).pathname}${new URL(next.url).search}`;
  }
  return { firstByteMs, totalMs: performance.now() - began, pages, ids };
}

/** The same records, each by its own read, one at a time. */
async function oneByOne(port: number, key: string, ids: readonly string[]): Promise<{ firstMs: number; totalMs: number }> {
  const headers = { authorization: `Bearer ${key}` };
  const began = performance.now();
  let firstMs = 0;
  for (const [n, id] of ids.entries()) {
    const response = await fetch(`http://127.0.0.1:${port}/tenants/${tenantId}/fhir/${id}`, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`read of ${id} answered ${response.status}`);
    if (n === 0) firstMs = performance.now() - began;
  }
  return { firstMs, totalMs: performance.now() - began };
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function measureEngine(engine: Engine, pgUrl: string | undefined): Promise<string> {
  if (engine === 'postgres') await dropBenchSchemas(pgUrl as string, schemaPrefix);
  const child = fork(fileURLToPath(import.meta.url), ['--serve', engine, pgUrl ?? ''], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<FromServer>((resolve, reject) => {
    child.once('message', (message: FromServer) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  console.log(`  ${settings.size.toLocaleString('en')} Observations seeded in ${ready.seedSeconds.toFixed(0)} s`);
  try {
    const { port, key, patient } = ready;
    await everything(port, key, patient); // warm-up: key caches, validator, statements
    const runs: Everything[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      runs.push(await everything(port, key, patient));
      console.log(`  $everything round ${round + 1}: first byte ${runs.at(-1)?.firstByteMs.toFixed(0)} ms, total ${runs.at(-1)?.totalMs.toFixed(0)} ms`);
    }
    const ids = runs[0]?.ids ?? [];
    if (ids.length !== settings.size + 1) throw new Error(`$everything returned ${ids.length} records, expected ${settings.size + 1}`);
    const single = await oneByOne(port, key, ids);
    console.log(`  one by one: ${ids.length} reads in ${single.totalMs.toFixed(0)} ms`);
    const firstByte = median(runs.map((r) => r.firstByteMs));
    const total = median(runs.map((r) => r.totalMs));
    const s = (ms: number) => (ms / 1000).toFixed(2);
    return [
      `${settings.size.toLocaleString('en')} Observations and the Patient seeded in ${ready.seedSeconds.toFixed(0)} s (sealed and indexed). $everything: median of ${settings.rounds} runs after one warm-up, ${runs[0]?.pages} pages of up to 1,000.`,
      '',
      '| read | first byte | all records | records/s | × $everything total |',
      '|---|---:|---:|---:|---:|',
      `| \`Patient/{id}/$everything?_count=1000\`, every page | ${firstByte.toFixed(0)} ms | ${s(total)} s | ${(ids.length / (total / 1000)).toFixed(0)} | 1.00 |`,
      `| \`GET {type}/{id}\` one by one, the same ${ids.length.toLocaleString('en')} records | ${single.firstMs.toFixed(0)} ms | ${s(single.totalMs)} s | ${(ids.length / (single.totalMs / 1000)).toFixed(0)} | ${(single.totalMs / total).toFixed(1)} |`,
    ].join('\n');
  } finally {
    child.send({ type: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}


async function main(): Promise<void> {
  const pgUrl = process.env['TRESOR_TEST_PG_URL'];
  const engines: Engine[] = pgUrl === undefined || pgUrl === '' ? ['sqlite'] : ['sqlite', 'postgres'];
  const cpu = os.cpus();
  const sections: string[] = [];
  for (const engine of engines) {
    console.log(`${engine}:`);
    sections.push(`## ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n\n${await measureEngine(engine, pgUrl)}`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const report = [
    `# Patient $everything — ${date}`,
    '',
    `${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}. Command: \`npm run bench -- everything\`${pgUrl === undefined || pgUrl === '' ? ' (SQLite only: no PostgreSQL in this run)' : ''}. Field encryption, the durable audit trail and the permission guard on (API key, role service); one client, one request at a time, over loopback HTTP.`,
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
  writeBenchReport('everything', date, report);
}

runBench(serve, main);
