/**
 * `npm run bench -- tenants`: many tenants on one node.
 *
 *   BENCH_TENANTS=10000          tenants created on SQLite (through the service API, in process)
 *   BENCH_PG_TENANTS=1000        tenant schemas created on PostgreSQL (when TRESOR_TEST_PG_URL is set)
 *   BENCH_MAX_OPEN=500           storage.maxOpenTenants of the measured server
 *   BENCH_SAMPLES=200            cold/warm request pairs
 *   BENCH_CPU_PROF=<dir>         the SQLite server runs with `node --cpu-prof` into <dir>
 *   BENCH_PG_KEEP=1              keep the PostgreSQL schemas afterwards, and reuse those already
 *                                there (a 10,000-schema run takes most of an hour to create)
 *
 * SQLite: the tenants are made by buildApp's own services (tenants.create, apiKeys.create), then a
 * server is started in a child process (this file with `--serve`, built as `main` builds it) and
 * measured from outside: start-up time, file descriptors (/proc/<pid>/fd) and RSS at start, six
 * seconds later (background jobs), and after one request to every tenant; then a request to a
 * cold tenant (closed by the open set) against the same request to it warm, right after.
 * PostgreSQL: schemas created with progress, server start-up, every tenant migrated at an upgrade
 * (one more migration, with progress), and the catalog's size.
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { buildApp, storageMigrations } from '../src/app.js';
import { openStorage, tenantSetDefaults, type Migration } from '../src/platform/db/index.js';
import { migrateTenants } from '../src/platform/migrate-tenants.js';
import { loadConfig } from '../src/config/index.js';

const self = fileURLToPath(import.meta.url);
const envNumber = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number`);
  return value;
};
const tenantCount = envNumber('BENCH_TENANTS', 10_000);
const pgTenantCount = envNumber('BENCH_PG_TENANTS', 1000);
const maxOpen = envNumber('BENCH_MAX_OPEN', 500);
const samples = envNumber('BENCH_SAMPLES', 200);
const pgUrl = process.env['TRESOR_TEST_PG_URL'];
const idOf = (i: number) => `t${String(i).padStart(5, '0')}`;

/**
 * `setup`: the data sets are made with synchronous=NORMAL (no fsync per commit), which only
 * shortens the preparation; the measured server runs with the default FULL.
 */
function configFor(engine: 'sqlite' | 'postgres', dataDir: string, port: number, { setup = false }: { setup?: boolean } = {}) {
  return loadConfig({
    env: {},
    overrides: {
      dataDir,
      log: { level: 'silent' },
      server: { tls: { enabled: false }, port, host: '127.0.0.1', maxConnectionsPerAddress: 0 },
      storage:
        engine === 'sqlite'
          ? { engine: 'sqlite', maxOpenTenants: maxOpen, ...(setup ? { sqlite: { synchronous: 'NORMAL' } } : {}) }
          : { engine: 'postgres', maxOpenTenants: maxOpen, postgres: { url: pgUrl, schemaPrefix: 'bmt' } },
    },
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const progress = (label: string, done: number, total: number, started: number) => {
  if (done % Math.max(1, Math.floor(total / 10)) === 0 || done === total) {
    const s = (performance.now() - started) / 1000;
    console.log(`  ${label}: ${done}/${total} (${s.toFixed(1)} s, ${(done / s).toFixed(0)}/s)`);
  }
};

interface Server {
  readonly pid: number;
  readonly port: number;
  readonly readyMs: number;
  /** From fork to listening (the process's own start included). */
  readonly startMs: number;
  openTenants(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(engine: 'sqlite' | 'postgres', dataDir: string, port: number): Promise<Server> {
  const forkedAt = performance.now();
  const profileDir = engine === 'sqlite' ? process.env['BENCH_CPU_PROF'] : undefined;
  const execArgv = ['--import', 'tsx', ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])];
  const child = fork(self, ['--serve', engine, dataDir, String(port)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const readyMs = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { ready: number }) => resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const startMs = performance.now() - forkedAt;
  return {
    pid: child.pid as number,
    port,
    readyMs,
    startMs,
    openTenants: () =>
      new Promise((resolve) => {
        child.once('message', (m: { open: number }) => resolve(m.open));
        child.send({ measure: true });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ stop: true });
      }),
  };
}

function resources(pid: number): { fds: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rss };
}

const report: string[] = [];
const say = (line: string) => {
  console.log(line);
  report.push(line);
};

async function timed(url: string, key: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  const took = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return took;
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index] as T, index);
      }
    }),
  );
}

async function benchSqlite(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tresor-bench-tenants-'));
  try {
    say(`### SQLite: ${tenantCount} tenants, storage.maxOpenTenants = ${maxOpen}`);
    // Made by the services, in process (no CLI process per tenant).
    const setupStarted = performance.now();
    const setup = await buildApp(configFor('sqlite', dataDir, 0, { setup: true }));
    const ids = Array.from({ length: tenantCount }, (_, i) => idOf(i));
    const keys = new Map<string, string>();
    let made = 0;
    await inParallel(ids, 16, async (id) => {
      await setup.tenants.create(id);
      keys.set(id, (await setup.apiKeys.create({ tenantId: id, role: 'service' })).key);
      progress('tenants created (with an API key each)', ++made, ids.length, setupStarted);
    });
    // A patient in each sampled tenant, spread over the range, for the cold/warm reads.
    const sampled = Array.from({ length: samples }, (_, i) => idOf(Math.floor((i * tenantCount) / samples)));
    const patients = new Map<string, string>();
    for (const id of sampled) {
      const created = await setup.http.inject({
        method: 'POST',
        url: `/tenants/${id}/fhir/Patient`,
        headers: { authorization: `Bearer ${keys.get(id)}`, 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench' }], birthDate: '1980-01-01' }),
      });
      patients.set(id, (JSON.parse(created.body) as { id: string }).id);
    }
    await setup.close();
    say(`- setup: ${tenantCount} tenants and keys in ${((performance.now() - setupStarted) / 1000).toFixed(0)} s (tenants.create and apiKeys.create in one process, synchronous=NORMAL for the preparation only)`);

    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = await startServer('sqlite', dataDir, port);
    const atStart = resources(server.pid);
    say(`- start-up: buildApp + listen ${ms(server.readyMs)}; fork → listening ${ms(server.startMs)} (target ≤ 5 s)`);
    say(`- at start: ${atStart.fds} descriptors, RSS ${mib(atStart.rss)}, ${await server.openTenants()} tenant data sets open`);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const later = resources(server.pid);
    say(`- 6 s later (background jobs): ${later.fds} descriptors, RSS ${mib(later.rss)}, ${await server.openTenants()} open`);

    const base = `http://127.0.0.1:${port}`;
    const everyStarted = performance.now();
    let most = { fds: 0, rss: 0 };
    let asked = 0;
    await inParallel(ids, 8, async (id) => {
      await timed(`${base}/tenants/${id}/fhir/Patient?_count=1`, keys.get(id) as string);
      if (++asked % 500 === 0) {
        const now = resources(server.pid);
        most = { fds: Math.max(most.fds, now.fds), rss: Math.max(most.rss, now.rss) };
      }
    });
    const afterAll = resources(server.pid);
    most = { fds: Math.max(most.fds, afterAll.fds), rss: Math.max(most.rss, afterAll.rss) };
    say(`- one search request to each of the ${tenantCount} tenants (8 at a time): ${((performance.now() - everyStarted) / 1000).toFixed(1)} s`);
    say(`- after: ${afterAll.fds} descriptors (most seen ${most.fds}), RSS ${mib(afterAll.rss)} (most seen ${mib(most.rss)}), ${await server.openTenants()} open`);

    // Cold then warm, one tenant at a time: the sampled tenants were closed by the walk above
    // (only the last maxOpen stay open), except those among the last ones.
    const cold: number[] = [];
    const warm: number[] = [];
    for (const id of sampled) {
      const url = `${base}/tenants/${id}/fhir/Patient/${patients.get(id)}`;
      cold.push(await timed(url, keys.get(id) as string));
      warm.push(await timed(url, keys.get(id) as string));
      // Push it out again for the next round of the same tenant (none here): nothing to do.
    }
    const differences = cold.map((c, i) => c - (warm[i] as number));
    say(`- read of one Patient, ${samples} tenants: cold median ${ms(median(cold))} (p90 ${ms(percentile(cold, 90))}), warm median ${ms(median(warm))} (p90 ${ms(percentile(warm, 90))}); cold − warm median ${ms(median(differences))} (target ≤ 20 ms)`);
    await server.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function catalogSize(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ db: string; catalog: string }>(
    `SELECT pg_database_size(current_database())::text AS db,
            (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog')::text AS catalog`,
  );
  const row = rows[0] as { db: string; catalog: string };
  const { rows: largest } = await client.query<{ name: string; size: string }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 6`,
  );
  return `database ${mib(Number(row.db))}, pg_catalog ${mib(Number(row.catalog))} (${largest.map((r) => `${r.name} ${mib(Number(r.size))}`).join(', ')})`;
}

async function benchPostgres(): Promise<void> {
  if (pgUrl === undefined) {
    say('### PostgreSQL: skipped (no TRESOR_TEST_PG_URL)');
    return;
  }
  const keep = process.env['BENCH_PG_KEEP'] === '1';
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  const dropAll = async () => {
    const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bmt\\_%'");
    for (const row of rows) await client.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
  };
  // Kept schemas need the same master key next time: the data directory (master-key.json) stays too.
  const dataDir = keep ? join(tmpdir(), 'tresor-bench-tenants-pg-kept') : mkdtempSync(join(tmpdir(), 'tresor-bench-tenants-pg-'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    if (!keep) await dropAll();
    say(`### PostgreSQL: ${pgTenantCount} tenant schemas`);
    say(`- before: ${await catalogSize(client)}`);
    const started = performance.now();
    const setup = await buildApp(configFor('postgres', dataDir, 0));
    const ids = Array.from({ length: pgTenantCount }, (_, i) => idOf(i));
    const existing = new Set((await setup.tenants.list()).map((tenant) => tenant.id));
    const missing = ids.filter((id) => !existing.has(id));
    let made = 0;
    await inParallel(missing, 4, async (id) => {
      await setup.tenants.create(id);
      progress('tenant schemas created', ++made, missing.length, started);
    });
    await setup.close();
    const createSeconds = (performance.now() - started) / 1000;
    if (missing.length > 0) say(`- created ${missing.length} in ${createSeconds.toFixed(0)} s (${(missing.length / createSeconds).toFixed(1)} schemas/s, 4 at a time)`);
    say(`- after: ${await catalogSize(client)}`);
    const { rows: tables } = await client.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'bmt\\_t\\_%'");
    say(`- relations (tables, indexes, sequences) in tenant schemas: ${tables[0]?.n}`);

    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = await startServer('postgres', dataDir, port);
    say(`- start-up: buildApp + listen ${ms(server.readyMs)}; fork → listening ${ms(server.startMs)}`);
    await server.stop();
    // BENCH_PG_STAGE=create: the schemas only (kept with BENCH_PG_KEEP=1), the upgrade measured by a later run.
    if (process.env['BENCH_PG_STAGE'] === 'create') return;

    // An upgrade: one more tenant migration; every tenant migrated by `tresor migrate`'s walk, with its progress.
    const upgrade: Migration = { id: `bench/${Date.now()}-upgrade`, up: { sqlite: () => [], postgres: (t) => [`CREATE TABLE ${t('bench_upgrade')} (id BIGINT PRIMARY KEY, at BIGINT NOT NULL)`, `CREATE INDEX ON ${t('bench_upgrade')} (at)`] } };
    // One pooled connection: the backend that touches every schema is the one measured below.
    const storage = await openStorage(
      { engine: 'postgres', postgres: { url: pgUrl, poolSize: 1, statementTimeoutMs: 60_000, schemaPrefix: 'bmt' }, tenants: tenantSetDefaults },
      { ...storageMigrations, tenant: [...storageMigrations.tenant, upgrade] },
    );
    const backend = async () => {
      const [row] = await storage.platform.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return resources((row as { pid: number }).pid).rss;
    };
    const rssBefore = await backend();
    let lastLine = 0;
    const result = await migrateTenants(storage, ids, {
      onProgress(p) {
        if (p.elapsedMs - lastLine < 10_000 && p.done !== p.total) return;
        lastLine = p.elapsedMs;
        const rate = p.done / (p.elapsedMs / 1000);
        console.log(`  migrate: ${p.done}/${p.total} tenants, ${rate.toFixed(0)}/s, about ${((p.total - p.done) / rate).toFixed(0)} s left; ${p.migrated} migrated, ${p.failed.length} failed`);
      },
    });
    const upgradeSeconds = result.elapsedMs / 1000;
    say(`- upgrade (one new migration in every tenant, tresor migrate's walk, one connection): ${upgradeSeconds.toFixed(1)} s for ${result.total} (${(result.total / upgradeSeconds).toFixed(0)}/s), ${result.migrated} migrated, ${result.failed.length} failed`);
    const rssAfterUpgrade = await backend();
    // A second walk, as background jobs do: every tenant opened (up to date: two reads) and three of its tables read.
    const walkStarted = performance.now();
    for (const id of ids) {
      await storage.visitTenant(id, async (db) => {
        for (const table of ['resources', 'audit_events', 'accounts']) await db.query(`SELECT count(*) AS n FROM ${db.table(table)}`);
      });
    }
    say(`- backend memory (RSS of the one pool connection): ${mib(rssBefore)} before, ${mib(rssAfterUpgrade)} after migrating every tenant, ${mib(await backend())} after a walk reading three tables of each (${((performance.now() - walkStarted) / 1000).toFixed(0)} s)`);
    say(`- after the upgrade: ${await catalogSize(client)}`);
    await storage.close();
  } finally {
    if (!keep) await dropAll().catch(() => undefined);
    await client.end();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.env['BENCH_SKIP_SQLITE'] !== '1') await benchSqlite();
  await benchPostgres();
  console.log('\n' + report.join('\n'));
}

// The server, in a child process (--serve), or the bench itself.
if (process.argv.includes('--serve')) {
  const [engine, dataDir, port] = process.argv.slice(-3) as ['sqlite' | 'postgres', string, string];
  const started = performance.now();
  const app = await buildApp(configFor(engine, dataDir, Number(port)));
  await app.http.listen({ port: Number(port), host: '127.0.0.1' });
  process.send?.({ ready: performance.now() - started });
  process.on('message', (message: { measure?: boolean; stop?: boolean }) => {
    if (message.measure === true) process.send?.({ open: app.storage.openTenants() });
    if (message.stop === true) void app.close().then(() => process.exit(0));
  });
} else {
  await main();
}
