import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { quoteIdent } from '../platform/db/index.js';
import { lazyRequire } from '../platform/lazy-require.js';
import { freePort, runProgram, type Owner } from '../platform/processes.js';
import { BackupError } from './errors.js';
import { drillAnnotation, type PhysicalBackups } from './physical.js';

// Loaded by the drill alone: the backup module is part of every command's services.
const pgLibrary = lazyRequire<typeof pg>('pg');

/**
 * `tresor drill restore` (issue 8; SPEC B4): proves the physical backups by restoring them.
 *
 * 1. On the live deployment: a marker row, then — with every Tresor table locked against writes
 *    (SHARE mode, for the milliseconds of counting) — each table's row count and a named restore
 *    point (`pg_create_restore_point`) at the same instant, then a second marker. The WAL
 *    segment holding the restore point is switched out and waited for in the archive.
 * 2. pgBackRest restores the newest backup before that point into a scratch directory and
 *    replays archived WAL up to the restore point (point-in-time recovery), archiving off.
 * 3. A scratch PostgreSQL starts on it: Unix socket in the scratch directory only (no TCP),
 *    trust for that socket alone, no synchronous standby to wait for.
 * 4. Checks: every table's row count equals the live count at the restore point; the first marker
 *    is there and the second is not (recovery stopped exactly there); `pg_amcheck` over every
 *    table and index (heap and B-tree structure, data checksums); erasures the restored data
 *    predates applied again from the tombstone list, as a server starting on it would (no
 *    destroyed key may be left); the caller's Tresor-level checks (every audit chain).
 * 5. The scratch instance is stopped and its directory removed; the backup that passed is
 *    annotated `tresor-restore-drill`, which retention keeps as the newest proven backup.
 *    `target` instead restores to a point in time an operator names: no counts then (there is
 *    nothing to compare with), every other check the same.
 */

export interface RestoreDrillOptions {
  readonly physical: PhysicalBackups;
  /** The live deployment (Tresor's own connection URL) and its schema prefix. */
  readonly databaseUrl: string;
  readonly schemaPrefix: string;
  /** Where the scratch instance goes (created; removed afterwards). */
  readonly scratchDir: string;
  readonly postgresBin: string;
  /** A moment to restore to (ISO 8601) instead of a fresh restore point. */
  readonly targetTime?: string;
  /** Tresor's own checks on the restored data (audit chains): findings, empty when all is well. */
  readonly verifyRestored: (databaseUrl: string) => Promise<{ tenants: number; events: number; findings: string[] }>;
  /** Erasures the restored data predates, applied again before any other check (tombstones.ts); `left`: subjects still holding a key. */
  readonly reapplyErasures?: (databaseUrl: string) => Promise<{ tombstones: number; resurrected: number; keysDestroyed: number; left: number }>;
  readonly log?: (line: string) => void;
  /** Upper bounds: the restore (default 1 h), the recovery to the target (default 30 min). */
  readonly restoreTimeoutMs?: number;
  readonly recoveryTimeoutMs?: number;
}

export interface RestoreDrillReport {
  readonly kind: 'restore-drill';
  readonly ok: boolean;
  readonly failures: string[];
  readonly startedAt: string;
  readonly target: { readonly type: 'name' | 'time'; readonly value: string };
  readonly restoredSet: string | undefined;
  /** Writes were held for this long while the counts and the restore point were taken. */
  readonly writePauseMs: number | undefined;
  readonly restoreSeconds: number;
  readonly recoverySeconds: number;
  readonly totalSeconds: number;
  readonly tables: number;
  readonly rows: number;
  readonly countMismatches: string[];
  readonly markers: { readonly before: boolean; readonly after: boolean } | undefined;
  readonly amcheck: { readonly ok: boolean; readonly detail: string };
  readonly tresor: { readonly tenants: number; readonly events: number; readonly findings: string[] } | undefined;
  readonly erasures?: { readonly tombstones: number; readonly resurrected: number; readonly keysDestroyed: number; readonly left: number } | undefined;
}

/** Runs a PostgreSQL program as `owner`: the server refuses root. */
const run = (file: string, args: readonly string[], owner: Owner, env: NodeJS.ProcessEnv, timeoutMs: number) => runProgram(file, args, { owner, env, timeoutMs });

const segmentOf = (walFile: string) => walFile.slice(8);

export async function runRestoreDrill(options: RestoreDrillOptions): Promise<RestoreDrillReport> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const failures: string[] = [];
  const drillId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const pointName = `tresor-drill-${drillId}`;
  const drillSchema = quoteIdent(`${options.schemaPrefix}_drill`);
  // The scratch instance runs as the owner of pgBackRest's configuration (the repository's user).
  const owner = statSync(options.physical.settings.configFile);
  const live = new (pgLibrary().Client)({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000 });
  const liveCounts = new Map<string, number>();
  let writePauseMs: number | undefined;
  let markers: RestoreDrillReport['markers'];
  const target = options.targetTime === undefined ? { type: 'name' as const, value: pointName } : { type: 'time' as const, value: options.targetTime };
  const targetMs = Date.parse(target.value);
  if (target.type === 'time' && (Number.isNaN(targetMs) || targetMs > Date.now())) throw new BackupError('drill-failed', `--target ${target.value} is not a past date and time (ISO 8601, e.g. 2026-12-01T10:00:00Z)`, { status: 400, expose: true });
  // pgBackRest's and PostgreSQL's form of a moment: "YYYY-MM-DD HH:MM:SS.mmm+00".
  const pgTarget = target.type === 'time' ? `${new Date(targetMs).toISOString().replace('T', ' ').replace('Z', '')}+00` : target.value;

  await live.connect();
  try {
    await live.query(`CREATE SCHEMA IF NOT EXISTS ${drillSchema}`);
    await live.query(`CREATE TABLE IF NOT EXISTS ${drillSchema}.markers (id text PRIMARY KEY, phase text NOT NULL, at bigint NOT NULL)`);
    if (target.type === 'name') {
      await live.query(`INSERT INTO ${drillSchema}.markers (id, phase, at) VALUES ($1, 'before', $2)`, [`${drillId}-before`, Date.now()]);
      const { rows: tables } = await live.query<{ schema: string; name: string }>(
        `SELECT schemaname AS schema, tablename AS name FROM pg_tables WHERE schemaname LIKE $1 AND schemaname <> $2 ORDER BY 1, 2`,
        [`${options.schemaPrefix.replace(/_/g, '\\_')}\\_%`, `${options.schemaPrefix}_drill`],
      );
      const qualified = tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
      await live.query('BEGIN');
      try {
        const pauseStart = performance.now();
        // A lock request waits behind running writers, and new writers queue behind it: give up
        // after 5 s (the drill fails) rather than stall the service behind a long transaction.
        await live.query("SET LOCAL lock_timeout = '5s'");
        // SHARE mode: no one writes these tables until COMMIT (reads go on), so the counts and the
        // restore point describe the same instant.
        if (qualified.length > 0) await live.query(`LOCK TABLE ${qualified.join(', ')} IN SHARE MODE`);
        for (const table of qualified) liveCounts.set(table, Number((await live.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n));
        await live.query('SELECT pg_create_restore_point($1)', [pointName]);
        await live.query('COMMIT');
        writePauseMs = Math.round(performance.now() - pauseStart);
      } catch (error) {
        await live.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      await live.query(`INSERT INTO ${drillSchema}.markers (id, phase, at) VALUES ($1, 'after', $2)`, [`${drillId}-after`, Date.now()]);
    } else {
      // Recovery to a time stops at the first commit after it; one must exist in the archive, or
      // PostgreSQL ends recovery short of the target and refuses to start. This marker is that
      // commit, and must not come back.
      await live.query(`INSERT INTO ${drillSchema}.markers (id, phase, at) VALUES ($1, 'after', $2)`, [`${drillId}-after`, Date.now()]);
    }
    // Close the current WAL segment (it holds the restore point, or the moment named) and wait
    // for it in the archive: recovery can only reach what the archive has.
    const wal = (await live.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    log(`${target.type === 'name' ? `restore point ${pointName}; ` : ''}waiting for WAL ${wal} in the archive`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const archived = (await live.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!.w;
      if (archived !== null && archived.length >= 24 && segmentOf(archived) >= segmentOf(wal)) break;
      if (Date.now() > deadline) throw new BackupError('drill-failed', `WAL ${wal} did not reach the archive within 120 s (is archive_command working? pg_stat_archiver)`, { status: 500, expose: true });
      await sleep(250);
    }
  } finally {
    await live.end().catch(() => undefined);
  }

  const scratch = options.scratchDir;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  chmodSync(scratch, 0o700);
  if (process.getuid?.() === 0) chownSync(scratch, owner.uid, owner.gid);
  const dataDir = join(scratch, 'data');
  const env = options.physical.environment();
  let restoredSet: string | undefined;
  let restoreSeconds = 0;
  let recoverySeconds = 0;
  let amcheck = { ok: false, detail: 'not run' };
  let tresor: RestoreDrillReport['tresor'];
  let erasures: RestoreDrillReport['erasures'];
  const countMismatches: string[] = [];
  let scratchStarted = false;
  const pgCtl = join(options.postgresBin, 'pg_ctl');
  try {
    log(`restoring to ${target.type} ${target.value}`);
    const restoreStart = performance.now();
    const output = await options.physical.exec(
      ['restore', `--pg1-path=${dataDir}`, '--reset-pg1-host', `--type=${target.type}`, `--target=${pgTarget}`, '--target-action=promote', '--archive-mode=off', '--log-level-console=info'],
      { timeoutMs: options.restoreTimeoutMs ?? 3_600_000 },
    );
    restoreSeconds = (performance.now() - restoreStart) / 1000;
    restoredSet = /restore backup set (\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?)/.exec(output)?.[1];
    const port = await freePort();
    // Only the scratch directory's socket, only this host's users who can enter a 0700 directory.
    writeFileSync(join(scratch, 'pg_hba.conf'), 'local all all trust\n', { mode: 0o600 });
    if (process.getuid?.() === 0) chownSync(join(scratch, 'pg_hba.conf'), owner.uid, owner.gid);
    const settings = [
      `-c port=${port}`,
      "-c listen_addresses=''",
      `-c unix_socket_directories=${scratch}`,
      `-c hba_file=${join(scratch, 'pg_hba.conf')}`,
      "-c synchronous_standby_names=''",
      '-c archive_mode=off',
      '-c cluster_name=tresor-restore-drill',
    ].join(' ');
    const recoveryStart = performance.now();
    // Stopped in `finally` even if the start times out with the server still recovering.
    scratchStarted = true;
    await run(pgCtl, ['-D', dataDir, '-l', join(scratch, 'postgres.log'), '-w', '-t', String(Math.round((options.recoveryTimeoutMs ?? 1_800_000) / 1000)), '-o', settings, 'start'], owner, env, (options.recoveryTimeoutMs ?? 1_800_000) + 10_000);
    const database = new URL(options.databaseUrl).pathname.slice(1) || 'postgres';
    const user = decodeURIComponent(new URL(options.databaseUrl).username) || 'postgres';
    const scratchUrl = `postgres://${encodeURIComponent(user)}@localhost/${encodeURIComponent(database)}?host=${encodeURIComponent(scratch)}&port=${port}`;
    const restored = new (pgLibrary().Client)({ host: scratch, port, user, database });
    // Heard here, a scratch server that goes away fails the drill instead of ending the process.
    restored.on('error', () => undefined);
    await restored.connect();
    try {
      const deadline = Date.now() + (options.recoveryTimeoutMs ?? 1_800_000);
      while ((await restored.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r) {
        if (Date.now() > deadline) throw new BackupError('drill-failed', 'the restored instance did not finish recovery in time', { status: 500, expose: true });
        await sleep(200);
      }
      recoverySeconds = (performance.now() - recoveryStart) / 1000;
      log(`recovered in ${recoverySeconds.toFixed(1)} s; checking`);
      if (target.type === 'name') {
        for (const [table, expected] of liveCounts) {
          const got = await restored.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`).then((r) => Number(r.rows[0]!.n), () => -1);
          if (got !== expected) countMismatches.push(`${table}: ${got < 0 ? 'missing' : got} rows restored, ${expected} at the restore point`);
        }
        if (countMismatches.length > 0) failures.push(`${countMismatches.length} tables differ in row count`);
      }
      const found = new Set(
        (await restored.query<{ phase: string }>(`SELECT phase FROM ${drillSchema}.markers WHERE id LIKE $1`, [`${drillId}-%`]).catch(() => ({ rows: [] as Array<{ phase: string }> }))).rows.map((r) => r.phase),
      );
      markers = { before: found.has('before'), after: found.has('after') };
      if (target.type === 'name' && !markers.before) failures.push('the marker written before the restore point is missing');
      if (markers.after) failures.push('the marker written after the target is there: recovery did not stop at the target');
      const superuser = (await restored.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE oid = 10')).rows[0]!.name;
      try {
        const out = await run(join(options.postgresBin, 'pg_amcheck'), ['--host', scratch, '--port', String(port), '--username', superuser, '--install-missing', '--heapallindexed', '--all', '--no-password'], owner, env, 3_600_000);
        amcheck = { ok: true, detail: out.trim() === '' ? 'every table and index checked, no corruption' : out.trim().slice(0, 500) };
      } catch (error) {
        amcheck = { ok: false, detail: (error as Error).message.slice(0, 500) };
        failures.push('pg_amcheck found corruption');
      }
    } finally {
      await restored.end().catch(() => undefined);
    }
    // What a real restore does before it serves anything (app.ts), so the drill proves it too.
    erasures = await options.reapplyErasures?.(scratchUrl);
    if (erasures !== undefined && erasures.left > 0) failures.push(`${erasures.left} erased subjects still have a data key after the tombstones were applied`);
    tresor = await options.verifyRestored(scratchUrl);
    if (tresor.findings.length > 0) failures.push(`the restored audit trail has ${tresor.findings.length} findings`);
  } catch (error) {
    failures.push((error as Error).message);
    // PostgreSQL's own reason (FATAL/PANIC lines name settings and WAL positions, not data).
    const why = (() => {
      try {
        return readFileSync(join(scratch, 'postgres.log'), 'utf8').split('\n').filter((line) => /FATAL|PANIC/.test(line)).slice(-2).join(' ');
      } catch {
        return '';
      }
    })();
    if (why !== '') failures.push(`scratch PostgreSQL: ${why.slice(0, 400)}`);
  } finally {
    if (scratchStarted) await run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], owner, env, 70_000).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
  if (target.type === 'name') {
    // The markers served their purpose; the live table stays small.
    const cleanup = new (pgLibrary().Client)({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000 });
    await cleanup.connect().then(() => cleanup.query(`DELETE FROM ${drillSchema}.markers WHERE id LIKE $1`, [`${drillId}-%`])).catch(() => undefined);
    await cleanup.end().catch(() => undefined);
  }
  const ok = failures.length === 0;
  if (ok && restoredSet !== undefined) await options.physical.annotate(restoredSet, drillAnnotation, startedAt).catch((error: unknown) => failures.push(`could not mark ${restoredSet} as drilled: ${(error as Error).message}`));
  return {
    kind: 'restore-drill',
    ok: failures.length === 0,
    failures,
    startedAt,
    target,
    restoredSet,
    writePauseMs,
    restoreSeconds,
    recoverySeconds,
    totalSeconds: (performance.now() - started) / 1000,
    tables: liveCounts.size,
    rows: [...liveCounts.values()].reduce((a, b) => a + b, 0),
    countMismatches,
    markers,
    amcheck,
    tresor,
    erasures,
  };
}
