import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';
import type pg from 'pg';
import { drillAnnotation, type PhysicalBackups } from '../backup/index.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

export interface Standby {
  name: string;
  state: string;
  sync_state: string;
  lag_bytes: string | null;
  lag_seconds: number | null;
}

export interface ReplicationState {
  standbys: Standby[];
  archiver: { last: number | null; failed: number } | undefined;
  primary: boolean;
}

/**
 * Replication as the primary Tresor is connected to sees it (pg_stat_replication,
 * pg_stat_archiver); on a standby, or when PostgreSQL cannot be read, no standbys and
 * `primary: false`. For /metrics and the platform probe of the detection engine.
 */
export async function readReplicationState(pool: pg.Pool): Promise<ReplicationState> {
  try {
    const recovery = await pool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    const primary = recovery.rows[0]?.r === false;
    const standbys = primary
      ? (
          await pool.query<Standby>(
            `SELECT application_name AS name, state, sync_state,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS lag_bytes,
                    EXTRACT(EPOCH FROM replay_lag)::float8 AS lag_seconds
               FROM pg_stat_replication`,
          )
        ).rows
      : [];
    const archiverRow = (await pool.query<{ last: Date | null; failed: string }>('SELECT last_archived_time AS last, failed_count::text AS failed FROM pg_stat_archiver')).rows[0];
    return { standbys, primary, archiver: archiverRow === undefined ? undefined : { last: archiverRow.last === null ? null : archiverRow.last.getTime() / 1000, failed: Number(archiverRow.failed) } };
  } catch {
    return { standbys: [], primary: false, archiver: undefined };
  }
}

/**
 * PostgreSQL high-availability and physical-backup metrics for /metrics (issue 8), ready for
 * the status page and alerting. Read from the primary Tresor is connected to, at scrape time
 * (cached a few seconds so several scrapers cost one query):
 *
 * - `tresor_postgres_replication_lag_bytes{standby,sync_state}`: WAL the primary has and the
 *   standby has not replayed yet; `…_lag_seconds`: the standby's replay lag as PostgreSQL
 *   measures it (0 when idle and caught up).
 * - `tresor_postgres_standby_streaming{standby,sync_state}`: 1 while the standby streams;
 *   `tresor_postgres_synchronous_standbys`: standbys a commit waits for now (0: acknowledged
 *   writes are on one machine only — alert).
 * - `tresor_postgres_wal_archive_last_success_timestamp_seconds` and `…_failed_total`
 *   (pg_stat_archiver): continuous archiving for point-in-time recovery.
 * - `tresor_physical_backup_last_timestamp_seconds`, `…_age_seconds`, `…_last_drill_timestamp_seconds`
 *   (pgBackRest's info, cached a minute): the newest good backup and the newest proven one.
 *
 * Reading pg_stat_replication's positions needs the pg_monitor role (granted in the cluster
 * script; docs/operations). Without it PostgreSQL hides the columns and the gauges stay empty.
 */
export function registerReplicationMetrics(registry: Registry, pool: pg.Pool, physical: PhysicalBackups | undefined, now: () => number): void {
  const { Gauge } = promClient();
  const read = cachedFor(5000, now, () => readReplicationState(pool));
  const labelled = (name: string, help: string, value: (s: Standby) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['standby', 'sync_state'],
      // Read from PostgreSQL: every server process reports the same value.
      aggregator: 'max',
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of (await read()).standbys) {
          const v = value(s);
          if (v !== undefined && Number.isFinite(v)) this.set({ standby: s.name, sync_state: s.sync_state }, v);
        }
      },
    });
  labelled('tresor_postgres_replication_lag_bytes', 'WAL bytes the primary has written and the standby has not replayed', (s) => (s.lag_bytes === null ? undefined : Number(s.lag_bytes)));
  labelled('tresor_postgres_replication_lag_seconds', 'Replay lag of the standby in seconds, as PostgreSQL measures it', (s) => (s.lag_seconds === null ? 0 : s.lag_seconds));
  labelled('tresor_postgres_standby_streaming', '1 while the standby streams WAL from the primary', (s) => (s.state === 'streaming' ? 1 : 0));
  const single = (name: string, help: string, value: () => Promise<number | undefined>) =>
    new Gauge({
      name,
      help,
      aggregator: 'max',
      registers: [registry],
      async collect() {
        const v = await value();
        if (v === undefined) this.reset();
        else this.set(v);
      },
    });
  single('tresor_postgres_synchronous_standbys', 'Standbys a commit waits for now (0 on a primary: acknowledged writes are on one machine only)', async () => {
    const state = await read();
    return state.primary ? state.standbys.filter((s) => s.sync_state === 'sync' || s.sync_state === 'quorum').length : undefined;
  });
  single('tresor_postgres_wal_archive_last_success_timestamp_seconds', 'When the last WAL segment reached the archive (pg_stat_archiver)', async () => (await read()).archiver?.last ?? undefined);
  single('tresor_postgres_wal_archive_failed_total', 'WAL archiving failures since the statistics were reset (pg_stat_archiver)', async () => (await read()).archiver?.failed);

  if (physical === undefined) return;
  const backups = cachedFor(60_000, now, async (): Promise<{ last?: number; drill?: number }> => {
    try {
      const current = await physical.info();
      const good = current.backups.filter((b) => !b.error);
      const drills = good.map((b) => Date.parse(b.annotations[drillAnnotation] ?? '')).filter((t) => Number.isFinite(t));
      return { ...(good.length === 0 ? {} : { last: Math.max(...good.map((b) => b.stoppedAt)) }), ...(drills.length === 0 ? {} : { drill: Math.max(...drills) }) };
    } catch {
      return {};
    }
  });
  single('tresor_physical_backup_last_timestamp_seconds', 'When the newest good pgBackRest backup finished', async () => {
    const last = (await backups()).last;
    return last === undefined ? undefined : last / 1000;
  });
  single('tresor_physical_backup_age_seconds', 'Age of the newest good pgBackRest backup', async () => {
    const last = (await backups()).last;
    return last === undefined ? undefined : (now() - last) / 1000;
  });
  single('tresor_physical_backup_last_drill_timestamp_seconds', 'When a restore drill last passed on a pgBackRest backup', async () => {
    const drill = (await backups()).drill;
    return drill === undefined ? undefined : drill / 1000;
  });
}

/**
 * `load`'s result for `ms`; callers arriving while it loads share the one load (a scrape asks
 * several gauges at once: one query, one `pgbackrest info` process). `load` must not reject.
 */
function cachedFor<T>(ms: number, now: () => number, load: () => Promise<T>): () => Promise<T> {
  let value: { at: number; value: T } | undefined;
  let loading: Promise<T> | undefined;
  return () => {
    if (value !== undefined && now() - value.at < ms) return Promise.resolve(value.value);
    loading ??= load().then((loaded) => {
      value = { at: now(), value: loaded };
      loading = undefined;
      return loaded;
    });
    return loading;
  };
}
