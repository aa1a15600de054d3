import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';
import type { Logger } from 'pino';
import type { Leadership } from '../platform/leadership.js';
import { measuredGauge } from '../platform/measured-gauge.js';
import { periodic } from '../platform/periodic.js';
import type { Backups, BackupStatus } from './service.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

export interface ScheduleTiming {
  /** Between snapshots (backup.everyMinutes). */
  readonly everyMs: number;
  /** Between restore drills (backup.drillEveryHours). */
  readonly drillEveryMs: number;
  /** Before the first snapshot after start. */
  readonly firstAfterMs: number;
}

/**
 * The server's backup jobs (SPEC B1, B4): a snapshot every `everyMs` — each followed by
 * retention and prune (service.ts) — and a restore drill whenever the last one is older than
 * `drillEveryMs` (a failed one: an hour), checked every snapshot interval, so a restarted server neither skips nor
 * repeats the day's drill. A failed job is logged as an alert-worthy `backup.failed` event by the
 * service and tried again at the next interval; it never stops the server. With a `leadership`
 * (several nodes on one PostgreSQL deployment), only the node that leads takes them.
 */
export function scheduleBackups(backups: Backups, timing: ScheduleTiming, log: Logger, now: () => number, leadership?: Leadership): { stop(): Promise<void> } {
  const refreshed = backups.refresh().catch(() => undefined);
  return periodic(
    async (stopped) => {
      await refreshed;
      try {
        const report = await backups.run({ reason: 'scheduled' });
        log.info({ event: 'backup.created', snapshot: report.manifest.id, chunks: report.manifest.added.chunks, bytes: report.manifest.added.bytes, pruned: report.pruned }, 'snapshot taken');
      } catch {
        // Counted, logged and audited by the service.
      }
      if (stopped()) return;
      const last = backups.status().lastDrill;
      const lastAt = last === undefined ? Number.NEGATIVE_INFINITY : Date.parse(last.at);
      // A failed drill is tried again within the hour, not a day later.
      if (now() - lastAt >= (last?.ok === false ? Math.min(timing.drillEveryMs, 3_600_000) : timing.drillEveryMs)) {
        try {
          const drill = await backups.drill();
          log.info({ event: 'backup.drill', snapshot: drill.snapshot, restoreSeconds: drill.restoreSeconds, rpoSeconds: drill.rpoSeconds }, 'restore drill passed');
        } catch {
          // Recorded in the drill report, logged and audited by the service.
        }
      }
    },
    timing.everyMs,
    timing.firstAfterMs,
    leadership,
  );
}

/**
 * RTO and RPO as measured, for /metrics (and the status page): from what every process of the
 * deployment recorded (`sharedStatus`), so backups and drills run by `tresor backup …` from cron,
 * or by another node, show here as well as the server's own. One read per region per scrape.
 * With regions, every series carries `region` (each region's repository is backed up, verified
 * and drilled on its own); without, the series have no label, as before regions existed.
 */
export function registerBackupMetrics(registry: Registry, regions: ReadonlyArray<readonly [string, Backups]>, now: () => number, labelled = regions.length > 1): void {
  const { Counter, Gauge } = promClient();
  const loading = new Map<string, Promise<BackupStatus>>();
  const status = (name: string, backups: Backups) => {
    let pending = loading.get(name);
    if (pending === undefined) {
      pending = backups.sharedStatus().finally(() => loading.delete(name));
      loading.set(name, pending);
    }
    return pending;
  };
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const only = regions[0];
  // Read from the deployment's shared record: every server process reports the same value.
  const gauge = (name: string, help: string, value: (s: BackupStatus) => number | undefined) => {
    if (!labelled && only !== undefined) {
      measuredGauge(registry, name, help, async () => value(await status(only[0], only[1])));
      return;
    }
    new Gauge({
      name,
      help,
      labelNames: ['region'],
      aggregator: 'max',
      registers: [registry],
      async collect() {
        const values = await Promise.all(regions.map(async ([region, backups]) => [region, value(await status(region, backups))] as const));
        this.reset();
        // A region never measured is left out rather than shown as 0 (measured-gauge.ts).
        for (const [region, v] of values) if (v !== undefined) this.set({ region }, v);
      },
    });
  };
  gauge('tresor_backup_last_snapshot_timestamp_seconds', 'When the newest snapshot was taken', (s) => seconds(s.lastSnapshotAt));
  gauge('tresor_backup_rpo_seconds', 'Age of the newest verified snapshot: the data a disaster would lose now (recovery point)', (s) =>
    s.newestVerifiedTakenAt === undefined ? undefined : (now() - s.newestVerifiedTakenAt) / 1000,
  );
  gauge('tresor_backup_restore_seconds', 'Seconds the last restore drill took to restore the newest snapshot and check it (recovery time as measured)', (s) => s.lastDrill?.restoreSeconds);
  gauge('tresor_backup_last_drill_timestamp_seconds', 'When the last restore drill ran', (s) => (s.lastDrill === undefined ? undefined : Date.parse(s.lastDrill.at) / 1000));
  gauge('tresor_backup_last_drill_success', '1 when the last restore drill passed, 0 when it failed', (s) => (s.lastDrill === undefined ? undefined : s.lastDrill.ok ? 1 : 0));
  /** A counter per operation (and region), read from the deployment's shared record at each scrape. */
  const byOperation = (name: string, help: string, counts: (s: BackupStatus) => Readonly<Record<string, number>>) =>
    new Counter({
      name,
      help,
      labelNames: labelled ? ['operation', 'region'] : ['operation'],
      aggregator: 'max',
      registers: [registry],
      async collect() {
        const current = await Promise.all(regions.map(async ([region, backups]) => [region, counts(await status(region, backups))] as const));
        this.reset();
        for (const [region, byOp] of current) for (const [operation, count] of Object.entries(byOp)) this.inc(labelled ? { operation, region } : { operation }, count);
      },
    });
  byOperation('tresor_backup_failures_total', 'Backup operations that failed, by operation (run, verify, drill, prune, restore), in any process of the deployment', (s) => s.failures);
  byOperation('tresor_backup_unreadable_total', 'Snapshots this deployment could not read with the keys it has now (a master key version they need is gone), by operation (verify, drill, restore); any increase needs an operator', (s) => s.unreadable);
}
