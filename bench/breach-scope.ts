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

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const defaults = { events: 10_000_000, keys: 20, patients: 50_000, days: 365, windowDays: 30, batch: 100_000 };
const events = Number(process.env['BENCH_EVENTS'] ?? defaults.events);
const resultsFile = process.env['BENCH_RESULTS'];
const day = 86_400_000;

/**
 * The same on PostgreSQL (TRESOR_TEST_PG_URL; `npm run bench -- breach` starts a scratch cluster
 * when none is named): the events generated inside the server (INSERT … SELECT over
 * generate_series, a million per statement), the index built after, then ANALYZE.
 */
async function measurePostgres(url: string, count: number, end: number): Promise<string[]> {
  const out: string[] = [];
  const pgDir = mkdtempSync(join(tmpdir(), 'tresor-bench-breach-pg-'));
  const schemaPrefix = `bbreach${process.pid}`;
  const pgConfig = loadConfig({ env: {}, overrides: { dataDir: pgDir, storage: { engine: 'postgres', postgres: { url, schemaPrefix } } } });
  const core = await buildCore(pgConfig);
  try {
    await core.tenants.create('bench');
    const db = await core.storage.tenant('bench');
    const table = db.table('audit_events');
    const begin = end - defaults.days * day;
    await db.execute('DROP INDEX IF EXISTS ' + table.replace(/audit_events"?$/, (m) => m.replace('audit_events', 'audit_events_actor')));
    // The trail starts empty (tenant creation's own event aside), and its head is moved past the
    // generated events afterwards, so the scopes' own audit events append after them.
    await core.audit.settle('bench');
    await db.execute(`DELETE FROM ${table}`);
    let started = performance.now();
    for (let from = 1; from <= count; from += 1_000_000) {
      const to = Math.min(count, from + 999_999);
      await db.execute(
        `INSERT INTO ${table} (seq, at, action, outcome, status, actor_id, actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail, hash)
         SELECT g, CAST(? AS BIGINT) + CAST(floor((g - 1) * CAST(? AS DOUBLE PRECISION)) AS BIGINT),
                CASE WHEN g % 97 = 0 THEN 'access.denied' ELSE 'record.read' END, CASE WHEN g % 97 = 0 THEN 'failure' ELSE 'success' END, 200,
                CASE WHEN g % 1000 = 500 THEN 'key_rare' ELSE 'key_bench' || lpad(CAST(g % ? AS TEXT), 4, '0') END, 'service', 'integration ' || (g % ?), 'TREAT',
                CASE WHEN g % 97 = 0 THEN '[]' ELSE '["Observation/o' || g || '/_history/1"]' END,
                CASE WHEN g % 97 = 0 THEN '[]' ELSE '["Patient/p' || ((g * 7919) % ?) || '"]' END,
                CASE WHEN g % 97 = 0 THEN '[]' ELSE '["health","internal","personal"]' END,
                'req-' || g, '10.0.' || (g % ?) || '.' || (g % 250), CASE WHEN g % 97 = 0 THEN 'forbidden' ELSE '' END, repeat('0', 64)
           FROM generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT)) AS g`,
        [begin, (defaults.days * day) / count, defaults.keys, defaults.keys, defaults.patients, defaults.keys, from, to],
      );
    }
    const generated = performance.now() - started;
    await db.execute(`UPDATE ${db.table('audit_head')} SET seq = ? WHERE id = 1`, [count]);
    started = performance.now();
    await db.execute(`CREATE INDEX audit_events_actor ON ${table} (actor_id, at)`);
    const indexBuild = performance.now() - started;
    await db.execute(`ANALYZE ${table}`);
    const windowTo = end;
    const windowFrom = end - defaults.windowDays * day;
    const scopes = createBreachScopes({ storage: core.storage, tenants: core.tenants, audit: core.audit, clock: systemClock });
    const by = { actor: { id: 'cli:bench', role: 'operator', client: 'tresor-cli' }, sourceIp: 'local', requestId: '' };
    out.push('', `## PostgreSQL (${count.toLocaleString('en')} events, written in ${seconds(generated)}; the index built after in ${seconds(indexBuild)})`, '');
    out.push('| suspect | measurement | time | rows | ratio to the raw SQL fetch |', '|---|---|---|---|---|');
    for (const suspect of ['key_bench0003', 'key_rare']) {
      let rawBest = Number.POSITIVE_INFINITY;
      let rows = 0;
      for (let round = 0; round < 3; round++) {
        const t0 = performance.now();
        rows = (await db.query(`SELECT seq, at, action, outcome, source_ip, resources, subjects, classes FROM ${table} WHERE actor_id = ? AND at >= ? AND at <= ?`, [suspect, windowFrom, windowTo])).length;
        rawBest = Math.min(rawBest, performance.now() - t0);
      }
      const computing: number[] = [];
      let scope: Scope | undefined;
      for (let round = 0; round < 3; round++) {
        scope = await scopes.compute({ from: windowFrom, to: windowTo, suspect: { kind: 'api-key', values: [suspect] }, tenants: ['bench'] }, by);
        computing.push(scope.durationMs);
      }
      const tenant = (scope as Scope).tenants[0];
      const name = suspect === 'key_rare' ? 'a rare key (1 event in 1,000)' : `a busy key (1 event in ${defaults.keys})`;
      out.push(`| ${name} | raw SQL fetch of its rows, best of 3 | ${seconds(rawBest)} | ${rows.toLocaleString('en')} | 1.0 |`);
      out.push(`| | scope, computation alone (${computing.map(seconds).join(', ')}) | ${seconds(Math.min(...computing))} | ${tenant?.trail.events.toLocaleString('en')} events → ${tenant?.patients.count.toLocaleString('en')} patients | ${(Math.min(...computing) / rawBest).toFixed(1)} |`);
    }
  } finally {
    await core.audit.close();
    await core.storage.close();
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${schemaPrefix}\\_%`]);
    for (const row of rows) await client.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
    await client.end();
    rmSync(pgDir, { recursive: true, force: true });
  }
  return out;
}

const dataDir = mkdtempSync(join(tmpdir(), 'tresor-bench-breach-'));
const config = loadConfig({ env: {}, overrides: { dataDir } });
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
      // One key in a thousand events is a rarely used one: a sparse suspect beside the busy ones.
      const rare = seq % 1000 === 500;
      const key = seq % defaults.keys;
      const patient = (seq * 7919) % defaults.patients;
      const denied = seq % 97 === 0;
      insert.run(
        seq,
        begin + Math.floor(((seq - 1) / events) * defaults.days * day),
        denied ? 'access.denied' : 'record.read',
        denied ? 'failure' : 'success',
        rare ? 'key_rare' : `key_bench${String(key).padStart(4, '0')}`,
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

  const to = end;
  const from = end - defaults.windowDays * day;
  started = performance.now();
  raw.exec('CREATE INDEX audit_events_actor ON audit_events (actor_id, at)');
  const indexBuild = performance.now() - started;
  raw.pragma('wal_checkpoint(TRUNCATE)');
  // The same rows straight from SQL, best of 3: through the actor index, and through the time index alone.
  const fetchRaw = (suspect: string, index: 'audit_events_actor' | 'audit_events_at') => {
    const statement = raw.prepare(`SELECT seq, at, action, outcome, source_ip, resources, subjects, classes FROM audit_events INDEXED BY ${index} WHERE actor_id = ? AND at >= ? AND at <= ?`);
    let best = Number.POSITIVE_INFINITY;
    let rows = 0;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      rows = statement.all(suspect, from, to).length;
      best = Math.min(best, performance.now() - t0);
    }
    return { ms: best, rows };
  };
  const suspects = ['key_bench0003', 'key_rare'];
  const baselines = suspects.map((suspect) => ({ indexed: fetchRaw(suspect, 'audit_events_actor'), byTime: fetchRaw(suspect, 'audit_events_at') }));
  raw.close();

  core = await buildCore(config);
  // The first open of the data set runs SQLite's PRAGMA optimize, which analyses the freshly
  // loaded table once (a running server has long done it): timed apart from the scopes.
  started = performance.now();
  await core.storage.tenant('bench');
  const firstOpen = performance.now() - started;
  const scopes = createBreachScopes({ storage: core.storage, tenants: core.tenants, audit: core.audit, clock: systemClock });
  const by = { actor: { id: 'cli:bench', role: 'operator', client: 'tresor-cli' }, sourceIp: 'local', requestId: '' };
  const measured = [];
  for (const suspect of suspects) {
    const request = { from, to, suspect: { kind: 'api-key', values: [suspect] }, tenants: ['bench'] as string[] };
    // The computation alone (the scope's own durationMs), and with recording its audit events.
    const runs: number[] = [];
    const computing: number[] = [];
    let scope: Scope | undefined;
    for (let round = 0; round < 3; round++) {
      started = performance.now();
      scope = await scopes.compute(request, by);
      runs.push(performance.now() - started);
      computing.push(scope.durationMs);
    }
    measured.push({ suspect, runs, computing, tenant: (scope as Scope).tenants[0] });
  }
  await core.audit.close();
  await core.storage.close();

  say(`# Breach scope: one API key, ${defaults.windowDays} days, ${events.toLocaleString('en')} audit events (SQLite)`);
  say('');
  say(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; \`BENCH_EVENTS=${events} node --import tsx bench/breach-scope.ts\`.`);
  say(`Data: ${events.toLocaleString('en')} events over ${defaults.days} days, ${defaults.keys} API keys, ${defaults.patients.toLocaleString('en')} patients, 1 in 97 refused; written in ${seconds(generated)}.`);
  say('');
  say('| suspect | measurement | time | rows | ratio to the raw SQL fetch |');
  say('|---|---|---|---|---|');
  measured.forEach(({ suspect, runs, computing, tenant }, i) => {
    const base = baselines[i] as (typeof baselines)[number];
    const name = suspect === 'key_rare' ? 'a rare key (1 event in 1,000)' : `a busy key (1 event in ${defaults.keys})`;
    say(`| ${name} | raw SQL fetch of its rows, (actor_id, at) index, best of 3 | ${seconds(base.indexed.ms)} | ${base.indexed.rows.toLocaleString('en')} | 1.0 |`);
    say(`| | raw SQL fetch, time index only, best of 3 | ${seconds(base.byTime.ms)} | ${base.byTime.rows.toLocaleString('en')} | ${(base.byTime.ms / base.indexed.ms).toFixed(1)} |`);
    say(`| | scope, computation alone (${computing.map(seconds).join(', ')}) | ${seconds(Math.min(...computing))} | ${tenant?.trail.events.toLocaleString('en')} events → ${tenant?.patients.count.toLocaleString('en')} patients, ${tenant?.records.count.toLocaleString('en')} records, ${tenant?.attempts.count.toLocaleString('en')} attempts | ${(Math.min(...computing) / base.indexed.ms).toFixed(1)} |`);
    say(`| | scope with its audit events (${runs.map(seconds).join(', ')}) | ${seconds(Math.min(...runs))} | | ${(Math.min(...runs) / base.indexed.ms).toFixed(1)} |`);
  });
  say('');
  say(`First open of the loaded data set (SQLite's PRAGMA optimize analyses the new table, once; a running server has done it long ago): ${seconds(firstOpen)}.`);
  say(`Building the (actor_id, at) index on the full table (what the upgrade that adds it costs): ${seconds(indexBuild)}.`);
  say('');
  say(`Target: ≤ 10 s for the scope. ${measured.every((m) => Math.max(...m.runs) <= 10_000) ? 'Met in every run' : 'Not met in every run'}.`);
  const pgUrl = process.env['TRESOR_TEST_PG_URL'];
  if (pgUrl !== undefined && pgUrl !== '') for (const line of await measurePostgres(pgUrl, Number(process.env['BENCH_PG_EVENTS'] ?? events), end)) say(line);
  if (resultsFile !== undefined) writeFileSync(resultsFile, `${lines.join('\n')}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
