/**
 * `node --import tsx bench/create-statements.ts`: what each SQL statement of a create costs on
 * SQLite, in one process. Seeds a tenant through the records service (BENCH_PATIENTS ×
 * BENCH_PER_PATIENT Observations), copies its data set, then replays one stored Observation's
 * rows under new ids (the record row, its version, its index rows in one INSERT, its link)
 * inside one transaction per round, timing each statement kind; each round is rolled back so
 * every round meets the same file. Figures are CPU µs per create (process.cpuUsage, so waits for a core on a shared machine stay
 * out), medians over BENCH_ROUNDS rounds of BENCH_PER_ROUND creates, the stored layout and the
 * variant (BENCH_VARIANT_SQL run on a second copy; BENCH_VARIANT_DROP_PARAM left out of its index
 * rows) alternated three times.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { supportedTypes, warmFhirValidator } from '../src/records/index.js';
import { seedPatient } from './search-seed.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const patients = num('BENCH_PATIENTS', 20);
const perPatient = num('BENCH_PER_PATIENT', 1000);
const rounds = num('BENCH_ROUNDS', 41);
const perRound = num('BENCH_PER_ROUND', 32);

const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-stmts-'));
const config = loadConfig({ env: {}, overrides: { dataDir, server: { host: '127.0.0.1', port: 0, tls: { enabled: false } }, log: { level: 'silent' }, storage: { engine: 'sqlite' } } });
warmFhirValidator(supportedTypes);
const app = await buildApp(config);
await app.tenants.create('stmts');
const seeded = performance.now();
for (let p = 0; p < patients; p += 1) await seedPatient(app, 'stmts', perPatient);
console.log(`seeded ${patients} × ${perPatient} Observations in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
await app.close();

const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const source = files(dataDir).find((f) => f.endsWith(join('tenants', 'stmts.db')));
if (source === undefined) throw new Error(`no tenant file in ${dataDir}: ${files(dataDir).join(', ')}`);
const copy = join(dataDir, 'copy.db');
copyFileSync(source, copy);
const db = new Database(copy);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');

type Row = Record<string, unknown>;
const resource = db.prepare(`SELECT * FROM resources WHERE resource_type = 'Observation' ORDER BY rowid DESC LIMIT 1`).get() as Row;
const version = db.prepare(`SELECT * FROM resource_versions WHERE resource_type = ? AND id = ?`).get(resource['resource_type'], resource['id']) as Row;
const index = db.prepare(`SELECT * FROM search_index WHERE resource_type = ? AND resource_id = ?`).all(resource['resource_type'], resource['id']) as Row[];
const links = db.prepare(`SELECT * FROM resource_links WHERE resource_type = ? AND resource_id = ?`).all(resource['resource_type'], resource['id']) as Row[];
console.log(`one Observation: ${index.length} index rows, ${links.length} links; indexes: ${(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('search_index', 'resources', 'resource_versions', 'resource_links')`).pluck().all() as string[]).join(', ')}`);

const insertOf = (table: string, row: Row, count = 1) => {
  const columns = Object.keys(row);
  const one = `(${columns.map(() => '?').join(', ')})`;
  return { sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: count }, () => one).join(', ')}`, columns };
};

interface Step {
  readonly name: string;
  readonly run: (id: string) => void;
}

function steps(target: Database.Database, index: readonly Row[]): Step[] {
  const r = insertOf('resources', resource);
  const v = insertOf('resource_versions', version);
  const s = insertOf('search_index', index[0] as Row, index.length);
  const l = insertOf('resource_links', links[0] as Row, links.length);
  const rs = target.prepare(r.sql);
  const vs = target.prepare(v.sql);
  const ss = target.prepare(s.sql);
  const ls = target.prepare(l.sql);
  const withId = (row: Row, columns: readonly string[], idColumn: string, id: string) => columns.map((c) => (c === idColumn ? id : row[c]));
  return [
    { name: 'resources', run: (id) => rs.run(withId(resource, r.columns, 'id', id)) },
    { name: 'resource_versions', run: (id) => vs.run(withId(version, v.columns, 'id', id)) },
    { name: 'search_index', run: (id) => ss.run(index.flatMap((row) => withId(row, s.columns, 'resource_id', id))) },
    { name: 'resource_links', run: (id) => ls.run(links.flatMap((row) => withId(row, l.columns, 'resource_id', id))) },
  ];
}

function measure(target: Database.Database, rows: readonly Row[] = index): Map<string, number> {
  const list = steps(target, rows);
  const times = new Map<string, number[]>(list.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    const spent = new Map<string, number>();
    target.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < perRound; i += 1) {
      const id = `zz${String(n++).padStart(24, '0')}`;
      for (const step of list) {
        const t0 = process.cpuUsage();
        step.run(id);
        const used = process.cpuUsage(t0);
        spent.set(step.name, (spent.get(step.name) ?? 0) + (used.user + used.system) / 1000);
      }
    }
    target.exec('COMMIT');
    for (const [name, ms] of spent) times.get(name)?.push((ms * 1000) / perRound);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

let n = 0;
const variant = process.env['BENCH_VARIANT_SQL'];
// BENCH_VARIANT_DROP_PARAM=patient: the variant writes the same record without that parameter's index rows.
const dropped = process.env['BENCH_VARIANT_DROP_PARAM'];
const variantIndex = index.filter((row) => row['param'] !== dropped);
const other = join(dataDir, 'variant.db');
copyFileSync(copy, other);
const b = new Database(other);
b.pragma('journal_mode = WAL');
b.pragma('synchronous = OFF');
if (variant !== undefined) b.exec(variant);
const show = (label: string, figures: Map<string, number>) => {
  const total = [...figures.values()].reduce((x, y) => x + y, 0);
  console.log(`${label.padEnd(10)} ${[...figures].map(([name, us]) => `${name} ${us.toFixed(1)}`).join(' | ')} | all ${total.toFixed(1)} µs`);
  return total;
};
const ratios: number[] = [];
for (let pass = 0; pass < 3; pass += 1) {
  const a = show('as stored', measure(db));
  const v = show('variant', measure(b, variantIndex));
  ratios.push(v / a);
}
console.log(`variant (${variant ?? ''}${dropped === undefined ? '' : ` without ${dropped} rows`}) ÷ as stored: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
db.close();
b.close();
rmSync(dataDir, { recursive: true, force: true });
