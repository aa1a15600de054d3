/**
 * What the platform probe reads each round (probes.ts): facts about backups, replication, the
 * served certificate and the disks, for the probe rules to judge. Numbers and names only.
 */
export interface PlatformReading {
  /** Milliseconds since the epoch when read. */
  readonly at: number;
  /** Tresor's own encrypted backups; absent when no repository is configured. */
  readonly backups?: {
    /** The server takes snapshots on a schedule (backup.schedule). */
    readonly scheduled: boolean;
    readonly everyMinutes: number;
    readonly drillEveryHours: number;
    readonly lastSnapshotAt?: number;
    readonly lastDrillAt?: number;
    readonly lastDrillOk?: boolean;
    /** When the server started: nothing is overdue before a first interval has passed. */
    readonly since: number;
  };
  /** PostgreSQL replication as the primary sees it; absent on SQLite or a standby. */
  readonly replication?: {
    readonly standbys: ReadonlyArray<{ readonly name: string; readonly streaming: boolean; readonly lagSeconds: number | undefined }>;
    /** Standbys a commit waits for now. */
    readonly synchronous: number;
  };
  /** The TLS certificate the server presents; absent without TLS. */
  readonly certificate?: { readonly subject: string; readonly notAfter: number };
  /** Free space where Tresor writes (data, checkpoints, a local backup repository). */
  readonly disks: ReadonlyArray<{ readonly path: string; readonly freeBytes: number; readonly totalBytes: number }>;
}
