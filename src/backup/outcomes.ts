import type { Migration, SqlExecutor } from '../platform/db/index.js';

/**
 * What backups did, whichever process did it: the server's scheduler, `tresor backup …` from
 * cron with `--repository`, another node. Kept in the platform data set (one row per fact) so
 * that every node's `/metrics` shows the same last snapshot, RPO, last drill and failures —
 * a process-local record would leave an operator's cron backups invisible to alerting.
 */
export interface BackupOutcomes {
  snapshotTaken(takenAt: number): Promise<void>;
  verified(takenAt: number): Promise<void>;
  drilled(report: DrillReport): Promise<void>;
  failed(operation: string, at: number): Promise<void>;
  /** A snapshot this deployment's keys could not read, found by `operation` (verify, drill, restore). */
  unreadable(operation: string, at: number): Promise<void>;
  read(): Promise<BackupOutcomeState>;
}

export interface DrillReport {
  readonly format: 'tresor-backup-drill/1';
  readonly at: string;
  readonly snapshot: string | undefined;
  readonly ok: boolean;
  /** Seconds to restore the newest snapshot into scratch and check it end to end (RTO as measured). */
  readonly restoreSeconds: number | undefined;
  /** Age of the newest verified snapshot at the end of the drill, in seconds (RPO as measured). */
  readonly rpoSeconds: number | undefined;
  readonly bytes: number | undefined;
  readonly error?: string;
}

export interface BackupOutcomeState {
  readonly lastSnapshotAt: number | undefined;
  readonly newestVerifiedTakenAt: number | undefined;
  readonly lastFailureAt: number | undefined;
  readonly lastDrill: DrillReport | undefined;
  readonly failures: Readonly<Record<string, number>>;
  /** Failures because this deployment's keys could not open the snapshot, by operation (verify, drill, restore). */
  readonly unreadable: Readonly<Record<string, number>>;
}

export const backupOutcomeMigrations: readonly Migration[] = [
  {
    id: 'backup/001-outcomes',
    up: {
      sqlite: (t) => [`CREATE TABLE ${t('backup_outcomes')} (name TEXT PRIMARY KEY, at BIGINT NOT NULL, count BIGINT NOT NULL DEFAULT 0, detail TEXT)`],
      postgres: (t) => [`CREATE TABLE ${t('backup_outcomes')} (name TEXT PRIMARY KEY, at BIGINT NOT NULL, count BIGINT NOT NULL DEFAULT 0, detail TEXT)`],
    },
  },
];

const failurePrefix = 'failure:';
const unreadablePrefix = 'unreadable:';

/**
 * `region`: the outcomes of one region's backups other than the home region's, kept in the same
 * table under names prefixed `<region>/` (the home region's names have no prefix, as before
 * regions existed).
 */
export function createBackupOutcomes(db: SqlExecutor, region?: string): BackupOutcomes {
  const table = db.table('backup_outcomes');
  const scope = region === undefined ? '' : `${region}/`;
  // Only ever forward: a slow process finishing an older snapshot after a newer one must not move the time back.
  const newest = (fact: string, at: number, detail: string | null = null) =>
    db.execute(
      `INSERT INTO ${table} (name, at, count, detail) VALUES (?, ?, 1, ?)
       ON CONFLICT (name) DO UPDATE SET count = ${table}.count + 1,
         detail = CASE WHEN excluded.at >= ${table}.at THEN excluded.detail ELSE ${table}.detail END,
         at = CASE WHEN excluded.at >= ${table}.at THEN excluded.at ELSE ${table}.at END`,
      [`${scope}${fact}`, at, detail],
    );
  return {
    snapshotTaken: async (takenAt) => void (await newest('snapshot', takenAt)),
    verified: async (takenAt) => void (await newest('verified', takenAt)),
    drilled: async (report) => void (await newest('drill', Date.parse(report.at), JSON.stringify(report))),
    failed: async (operation, at) => void (await newest(`${failurePrefix}${operation}`, at)),
    unreadable: async (operation, at) => void (await newest(`${unreadablePrefix}${operation}`, at)),
    async read() {
      const all = await db.query<{ name: string; at: number | string; count: number | string; detail: string | null }>(`SELECT name, at, count, detail FROM ${table}`);
      // This scope's facts, by their names without the scope (a region's names hold one `/`, the home region's none).
      const rows = all.filter((r) => (scope === '' ? !r.name.includes('/') : r.name.startsWith(scope))).map((r) => ({ ...r, name: r.name.slice(scope.length) }));
      const at = (name: string) => {
        const row = rows.find((r) => r.name === name);
        return row === undefined ? undefined : Number(row.at);
      };
      const failureRows = rows.filter((r) => r.name.startsWith(failurePrefix));
      const counts = (prefix: string) => Object.fromEntries(rows.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name.slice(prefix.length), Number(r.count)]));
      const drill = rows.find((r) => r.name === 'drill')?.detail;
      return {
        lastSnapshotAt: at('snapshot'),
        newestVerifiedTakenAt: at('verified'),
        lastFailureAt: failureRows.length === 0 ? undefined : Math.max(...failureRows.map((r) => Number(r.at))),
        lastDrill: drill === null || drill === undefined ? undefined : (JSON.parse(drill) as DrillReport),
        failures: counts(failurePrefix),
        unreadable: counts(unreadablePrefix),
      };
    },
  };
}
