/**
 * `npm run bench -- breach` (or `node --import tsx bench/breach-scope.ts`): a breach scope over
 * one API key and 30 days on a tenant with BENCH_EVENTS (default 10,000,000) audit events, on
 * SQLite. The events are written straight into the tenant's file (a prepared INSERT, one
 * transaction per 100,000 rows) rather than through the audit service: their hashes are dummies,
 * which is fine because a scope reads the trail without verifying the chain (`tresor audit
 * verify` does that). The audit_subjects index is not filled either: a scope does not read it.
 *
 * Beside the scope, in the same run: the raw SQL fetch of the same rows (the floor any scope
 * must pay), the scope without the (actor_id, at) index, and the time to build that index on the
 * full table (what the upgrade that adds it costs). Writes BENCH_RESULTS (default
 * bench/results/2026-12-07-breach-scope.md) when set to a path, else prints only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildCore } from '../src/app.js';
import { createBreachScopes, type Scope } from '../src/breach/index.js';
import { loadConfig } from '../src/config/index.js';
import { systemClock } from '../src/platform/clock.js';

const defaults = { events: 10_000_000, keys: 20, patients: 50_000, days: 365, windowDays: 30, batch: 100_000 };
const events = Number(process.env['BENCH_EVENTS'] ?? defaults.events);
const resultsFile = process.env['BENCH_RESULTS'];
const day = 86_400_000;

const dataDir = mkdtempSync(join(tmpdir(), 'tresor-bench-breach-'));
const config = loadConfig({ env: {}, overrides: { dataDir } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};

try {
  // The tenant and its schema (every migration, the actor index included) through Tresor itself.
  let core = await buildCore(config);
  await core.tenants.create('bench');
  await core.storage.tenant('bench');
  await core.audit.close();
  await core.storage.close();

  const end = Date.now() - 3_600_000;
  const begin = end - defaults.days * day;
  const file = join(dataDir, 'tenants', 'bench.db');
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = OFF');
  // Loaded without the actor index, which is then built on the full table, as an upgrade would.
  raw.exec('DROP INDEX audit_events_actor');
  const insert = raw.prepare(
    'INSERT INTO audit_events (seq, at, action, outcome, status, actor_id, actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail, hash) VALUES (?, ?, ?, ?, 200, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const classes = JSON.stringify(['health', 'internal', 'personal']);
  const hash = '0'.repeat(64);
  let started = performance.now();
  const fill = raw.transaction((from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) {
      const key = seq % defaults.keys;
      const patient = (seq * 7919) % defaults.patients;
      const denied = seq % 97 === 0;
      insert.run(
        seq,
        begin + Math.floor(((seq - 1) / events) * defaults.days * day),
        denied ? 'access.denied' : 'record.read',
        denied ? 'failure' : 'success',
        `key_bench${String(key).padStart(4, '0')}`,
        'service',
        `integration ${key}`,
        'TREAT',
        denied ? '[]' : `["Observation/o${seq}/_history/1"]`,
        denied ? '[]' : `["Patient/p${patient}"]`,
        denied ? '[]' : classes,
        `req-${seq}`,
        `10.0.${key}.${seq % 250}`,
        denied ? 'forbidden' : '',
        hash,
      );
    }
  });
  for (let from = 1; from <= events; from += defaults.batch) fill(from, Math.min(events, from + defaults.batch - 1));
  raw.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(events, hash);
  const generated = performance.now() - started;

  const suspect = 'key_bench0003';
  const to = end;
  const from = end - defaults.windowDays * day;
  const fetchRaw = () => {
    const t0 = performance.now();
    const rows = raw.prepare('SELECT seq, at, action, outcome, source_ip, resources, subjects, classes FROM audit_events WHERE actor_id = ? AND at >= ? AND at <= ?').all(suspect, from, to);
    return { ms: performance.now() - t0, rows: rows.length };
  };
  const noIndex = fetchRaw();
  started = performance.now();
  raw.exec('CREATE INDEX audit_events_actor ON audit_events (actor_id, at)');
  const indexBuild = performance.now() - started;
  raw.pragma('wal_checkpoint(TRUNCATE)');
  const baseline = fetchRaw();
  raw.close();

  core = await buildCore(config);
  const scopes = createBreachScopes({ storage: core.storage, tenants: core.tenants, audit: core.audit, clock: systemClock });
  const by = { actor: { id: 'cli:bench', role: 'operator', client: 'tresor-cli' }, sourceIp: 'local', requestId: '' };
  const request = { from, to, suspect: { kind: 'api-key', values: [suspect] }, tenants: ['bench'] as string[] };
  const runs: number[] = [];
  let scope: Scope | undefined;
  for (let round = 0; round < 3; round++) {
    started = performance.now();
    scope = await scopes.compute(request, by);
    runs.push(performance.now() - started);
  }
  const tenant = (scope as Scope).tenants[0];
  const best = Math.min(...runs);
  await core.audit.close();
  await core.storage.close();

  say(`# Breach scope: one API key, ${defaults.windowDays} days, ${events.toLocaleString('en')} audit events (SQLite)`);
  say('');
  say(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; \`BENCH_EVENTS=${events} node --import tsx bench/breach-scope.ts\`.`);
  say(`Data: ${events.toLocaleString('en')} events over ${defaults.days} days, ${defaults.keys} API keys, ${defaults.patients.toLocaleString('en')} patients, 1 in 97 refused; written in ${seconds(generated)}.`);
  say('');
  say('| measurement | time | rows | ratio to the raw SQL fetch |');
  say('|---|---|---|---|');
  say(`| raw SQL fetch of the suspect's rows (with the index) | ${seconds(baseline.ms)} | ${baseline.rows.toLocaleString('en')} | 1.0 |`);
  say(`| scope (best of 3: ${runs.map(seconds).join(', ')}) | ${seconds(best)} | ${tenant?.trail.events.toLocaleString('en')} events → ${tenant?.patients.count.toLocaleString('en')} patients, ${tenant?.records.count.toLocaleString('en')} records, ${tenant?.attempts.count.toLocaleString('en')} attempts | ${(best / baseline.ms).toFixed(1)} |`);
  say(`| raw SQL fetch without the (actor_id, at) index | ${seconds(noIndex.ms)} | ${noIndex.rows.toLocaleString('en')} | ${(noIndex.ms / baseline.ms).toFixed(1)} |`);
  say(`| building the (actor_id, at) index on the full table (the upgrade) | ${seconds(indexBuild)} | | |`);
  say('');
  say(`Target: ≤ 10 s for the scope. ${best <= 10_000 ? 'Met' : 'Not met'}.`);
  if (resultsFile !== undefined) writeFileSync(resultsFile, `${lines.join('\n')}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
