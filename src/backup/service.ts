import { existsSync, fsyncSync, openSync, closeSync, readFileSync, renameSync, rmSync, appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import { randomBytes } from 'node:crypto';
import type { Keys } from '../keys/index.js';
import type { RegionStorage, SqlDatabase, SqlExecutor, StorageMigrations } from '../platform/db/index.js';
import { openPostgresDatabase } from '../platform/db/postgres.js';
import { openSqliteDatabase } from '../platform/db/sqlite.js';
import { backupKeySource, loadBackupKey, type BackupKeys } from './backup-keys.js';
import { BackupError } from './errors.js';
import { withRepositoryLock } from './lock.js';
import { deleteSnapshots, markVerified, pruneChunks, snapshotRefs, summarise, type SnapshotSummary } from './maintenance.js';
import { openRepository } from './open-repository.js';
import type { Repository } from './repository.js';
import { applyRetention, keptUntil, type RetentionPolicy, type RetentionResult } from './retention.js';
import { dropPgSchema, swapPgSchema } from './pg-dataset.js';
import { checkSqliteCopy, formatOf, listSnapshotIds, readManifest, restoreFiles, restorePgDataSet, scratchIn, takeSnapshot, verifySnapshot, type DataSetRef, type Manifest, type Progress, type VerifyReport } from './snapshots.js';
import { applyTombstones, liveTombstones, mergeTombstones, readTombstones, reapplyTombstones, recordTombstones, type ErasuresReapplied } from './tombstones.js';
import type { BackupOutcomes, BackupOutcomeState, DrillReport } from './outcomes.js';

/**
 * Everything the server's scheduler, the CLI and the backup operators' API do with backups, in
 * one place: take a snapshot (with the tombstone list), apply retention and prune, verify (and
 * mark verified), the daily restore drill, and restores — into a new directory, or one tenant
 * into the running system. Every operation opens the repository, takes its lock and closes it
 * again; failures are BackupErrors that name what failed and leave the live data untouched.
 */
export interface BackupSettings {
  readonly repository?: string | undefined;
  readonly key?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly chunkKiB: number;
  /** Where a snapshot's copy of a SQLite file too large to copy in memory waits; default the data directory. */
  readonly scratchDir?: string | undefined;
  readonly sftp: { readonly privateKeyFile?: string | undefined; readonly hostKeySha256?: string | undefined };
  readonly retention: RetentionPolicy;
}

export interface BackupDeps {
  readonly settings: BackupSettings;
  readonly dataDir: string;
  /**
   * The region these backups are of (src/regions): its key store and its tenants' data sets. A
   * deployment without regions has one, the home region; each further region has a `Backups` of
   * its own, with its own repository, key, tombstone list, drills and outcomes.
   */
  readonly storage: RegionStorage;
  /** The region's name: in audit details, log lines and errors when it is not the home region. */
  readonly region?: string;
  /**
   * Nothing a whole restore could overwrite (`restoreDeployment` refuses otherwise): for the home
   * region, no tenant and no operator; for another region, an empty key store.
   */
  isEmpty(): Promise<boolean>;
  /** The code's migrations: a restored PostgreSQL schema is rebuilt and upgraded with them. */
  readonly migrations: StorageMigrations;
  /** Every data set of the deployment, at the moment of the snapshot. */
  dataSets(): Promise<DataSetRef[]>;
  readonly audit: Audit;
  /** The operators' audit realm: backup events of the whole deployment are recorded there. */
  readonly platformRealm: string;
  readonly clock: Clock;
  readonly tresorVersion: string;
  readonly log?: Logger;
  /** Where outcomes are kept for every process's /metrics (outcomes.ts); absent, only this process knows them. */
  readonly outcomes?: BackupOutcomes;
  /**
   * After one tenant was restored into the running system: re-applies erasures the restored data
   * predates (records marked erased, accounts of erased patients), and records the restore in the
   * tenant's audit trail. The app supplies it (it holds records, accounts and audit).
   */
  afterTenantRestore?(tenantId: string, snapshotId: string, erasedSubjects: readonly string[], actor: Actor): Promise<void>;
  /**
   * Master key versions kept for snapshots (the keys module's holds): each snapshot holds the
   * versions its key store is wrapped under until retention drops it.
   */
  readonly keyHolds?: Pick<Keys, 'holds' | 'hold' | 'releaseHolds'>;
  /**
   * What this deployment cannot read of a restored copy, with the keys it has now: `keys` names
   * the master key versions a key store (of one tenant, or all) needs and this deployment lacks;
   * `tenant` opens sealed fields of a tenant data set with that key store, at least one per key
   * generation. Each returns problems, empty when readable. The app supplies it.
   */
  readonly readable?: {
    keys(keysDb: SqlExecutor, tenantId?: string): Promise<readonly string[]>;
    tenant(keysDb: SqlDatabase, tenantDb: SqlExecutor, tenantId: string): Promise<readonly string[]>;
  };
  /** After erasures a restore had undone were applied again (`reapplyErasures`): records and accounts, and the tenant's trail. */
  afterErasuresReapplied?(tenantId: string, subjects: readonly string[], keysDestroyed: number): Promise<void>;
}

export interface RunReport {
  readonly manifest: Manifest;
  readonly tombstones: { readonly total: number; readonly added: number };
  readonly retention: RetentionResult | undefined;
  readonly pruned: { readonly snapshots: number; readonly chunks: number; readonly packs: number } | undefined;
  /** Why retention and prune did not run, when they did not (another process held the repository). */
  readonly maintenanceSkipped?: string;
  /** The backup key file this run made (no key was configured): it must be copied off the machine. */
  readonly keyFileCreated?: string;
}

export type { DrillReport } from './outcomes.js';

/** What the deployment's backups did (the shared record's fields), and whether this process has a repository. */
export interface BackupStatus extends BackupOutcomeState {
  readonly configured: boolean;
}

export interface Backups {
  readonly configured: boolean;
  run(options?: { progress?: Progress; actor?: Actor; reason?: string }): Promise<RunReport>;
  list(): Promise<SnapshotSummary[]>;
  verify(id?: string, options?: { progress?: Progress; actor?: Actor }): Promise<VerifyReport>;
  drill(): Promise<DrillReport>;
  /** Retention and prune under the exclusive lock. */
  maintain(actor?: Actor): Promise<{ retention: RetentionResult; pruned: { snapshots: number; chunks: number; packs: number } }>;
  restoreTo(id: string, dir: string, options?: { tenant?: string; progress?: Progress; actor?: Actor }): Promise<{ manifest: Manifest; dataSets: number; keysDestroyed: number }>;
  restoreTenant(id: string, tenantId: string, options: { actor: Actor; progress?: Progress }): Promise<{ manifest: Manifest; preRestoreSnapshot: string; keysDestroyed: number; seconds: number }>;
  /**
   * PostgreSQL disaster recovery: every data set of the snapshot into this deployment, which
   * must be empty (a new database or schema prefix: no tenant, no operator). SQLite deployments
   * are restored into a new directory (`restoreTo`).
   */
  restoreDeployment(id: string, options: { actor: Actor; progress?: Progress }): Promise<{ manifest: Manifest; dataSets: number; keysDestroyed: number }>;
  status(): BackupStatus;
  /**
   * The status as every process of the deployment recorded it (the server's schedule, the CLI
   * from cron, other nodes): what /metrics shows. Falls back to this process's own view.
   */
  sharedStatus(): Promise<BackupStatus>;
  /** Reads the newest snapshot and the newest verified one from the repository (at server start). */
  refresh(): Promise<void>;
  /** Where drill reports are appended, one JSON line each. */
  readonly drillReportFile: string;
  /**
   * Puts the key store's destroyed subjects into the repository's tombstone list now, rather than
   * with the next backup (after a shred): from then on no restore — physical ones included —
   * can bring them back. Returns the list's length.
   */
  recordErasures(): Promise<number>;
  /**
   * Destroys again every key version the tombstone list covers that this deployment's key store
   * holds (a point-in-time restore of the database, a disk snapshot), with its records and
   * accounts; the server calls it before it serves anything, the restore drill on what it restored.
   */
  reapplyErasures(): Promise<ErasuresReapplied>;
}

const system: Actor = { id: 'system:backup', role: 'system', client: 'tresor' };

/** The key-hold holder of a snapshot. */
const snapshotHolder = (id: string) => `snapshot:${id}`;

export function createBackups(deps: BackupDeps): Backups {
  const { settings, dataDir, clock } = deps;
  const configured = settings.repository !== undefined;
  const drillReportFile = join(dataDir, 'backup-drills.jsonl');
  const failures: Record<string, number> = {};
  const unreadable: Record<string, number> = {};
  let lastSnapshotAt: number | undefined;
  let lastFailureAt: number | undefined;
  let newestVerifiedTakenAt: number | undefined;
  let lastDrill: DrillReport | undefined = readLastDrill(drillReportFile);
  let lastPruneAt = Number.NEGATIVE_INFINITY;
  /** Recording an outcome for the others must never turn a finished backup into a failed one. */
  const share = (record: (outcomes: BackupOutcomes) => Promise<void>) =>
    deps.outcomes === undefined ? Promise.resolve() : record(deps.outcomes).catch((error: unknown) => deps.log?.warn({ event: 'backup.outcome_unrecorded', code: (error as { code?: unknown }).code }, 'a backup outcome could not be recorded for /metrics'));

  /** A restored tenant's audit trail must verify up to its own end (checkpoints after the snapshot do not count). */
  async function checkTrail(db: SqlExecutor, tenantId: string, label: string): Promise<void> {
    const chain = await deps.audit.verifyCopy(db, tenantId);
    const first = chain.findings[0];
    if (first !== undefined) {
      throw new BackupError('object-corrupt', `${label}: the audit trail has ${chain.findings.length} finding(s), the first at event ${first.seq} (${first.kind}: ${first.detail})`, { status: 500, expose: true });
    }
  }
  const unreadableError = (label: string, problems: readonly string[]) =>
    new BackupError('keys-unreadable', `${label}: this deployment's keys cannot read it: ${problems.join('; ')}`, { status: 409, expose: true });

  /**
   * Verify opens sealed fields with the keys this deployment has now: the restored key store
   * (with every erasure applied first, as a restore would) under today's master key. A snapshot
   * that only verifies its bytes could be one no restore can read.
   */
  const readableChecks = (tombstones: ReadonlyArray<{ tenant: string; subject: string; shreddedAt: number }>) => {
    const readable = deps.readable;
    if (readable === undefined) return {};
    return {
      checkReadable: {
        async keys(keysDb: SqlDatabase, label: string) {
          await applyTombstones(keysDb, tombstones);
          const problems = await readable.keys(keysDb);
          if (problems.length > 0) throw unreadableError(label, problems);
        },
        async tenant(keysDb: SqlDatabase, tenantDb: SqlExecutor, tenantId: string, label: string) {
          const problems = await readable.tenant(keysDb, tenantDb, tenantId);
          if (problems.length > 0) throw unreadableError(label, problems);
        },
      },
    };
  };

  /** A restore refuses before it changes anything when the key store it brings needs keys this deployment lacks. */
  async function refuseUnreadable(keysDb: SqlExecutor, label: string, tenantId?: string): Promise<void> {
    const problems = (await deps.readable?.keys(keysDb, tenantId)) ?? [];
    if (problems.length > 0) throw unreadableError(`${label}: restore refused, nothing was changed`, problems);
  }

  /** Audit details and log lines say which region's backups, where there are several. */
  const where = deps.region === undefined ? '' : `region ${deps.region}: `;
  const postgresDeps = () => (deps.storage.postgres === undefined ? {} : { postgres: { ...deps.storage.postgres, migrations: deps.migrations } });
  const keySource = backupKeySource(settings, dataDir);
  let keyFileCreated: string | undefined;
  const keysOf = (create: boolean): BackupKeys =>
    loadBackupKey(keySource, {
      create,
      onCreated: (file) => {
        keyFileCreated = file;
        // Alert-worthy: until it is copied elsewhere, losing this disk loses every backup with it.
        deps.log?.warn({ event: 'backup.key_created', file }, 'made a new backup key file inside the data directory: copy it off this machine (or set TRESOR_BACKUP_KEY); without it no backup can be read');
      },
    });
  const hasKey = () => 'env' in keySource || existsSync(keySource.file);

  async function withRepository<T>(fn: (repository: Repository) => Promise<T>): Promise<T> {
    if (settings.repository === undefined) throw new BackupError('backup-not-configured', 'no backup repository: set backup.repository (TRESOR_BACKUP_REPOSITORY) or pass --repository', { status: 409, expose: true });
    const { privateKeyFile, hostKeySha256 } = settings.sftp;
    const repository = await openRepository(settings.repository, privateKeyFile !== undefined && hostKeySha256 !== undefined ? { sftp: { privateKeyFile, hostKeySha256 } } : {});
    try {
      return await fn(repository);
    } finally {
      await repository.close().catch(() => undefined);
    }
  }

  /** Records a failure: counted for /metrics, logged as an alert-worthy event, and in the operators' audit trail. */
  async function failed(operation: string, error: unknown, actor: Actor): Promise<never> {
    failures[operation] = (failures[operation] ?? 0) + 1;
    lastFailureAt = clock.now().getTime();
    await share((outcomes) => outcomes.failed(operation, lastFailureAt as number));
    const code = error instanceof BackupError ? error.code : 'error';
    if (code === 'keys-unreadable') {
      unreadable[operation] = (unreadable[operation] ?? 0) + 1;
      await share((outcomes) => outcomes.unreadable(operation, lastFailureAt as number));
    }
    // Messages of BackupErrors name objects and locations without credentials; others are not logged verbatim.
    deps.log?.error({ event: 'backup.failed', operation, code, ...(deps.region === undefined ? {} : { region: deps.region }), ...(error instanceof BackupError ? { reason: error.message } : {}) }, `backup ${operation} failed`);
    await deps.audit.record(deps.platformRealm, [operatorEvent('backup.failed', actor, { outcome: 'failure', detail: `${where}${operation}: ${code}` })]).catch(() => undefined);
    throw error;
  }

  async function guarded<T>(operation: string, actor: Actor, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      return failed(operation, error, actor);
    }
  }

  async function snapshotLocked(repository: Repository, keys: BackupKeys, progress: Progress | undefined) {
    // The master versions in use before the copy and after it: a master rotation running at the
    // same time cannot retire one the copy may reference.
    const pending = `snapshot-pending:${randomBytes(6).toString('hex')}`;
    await deps.keyHolds?.hold(pending, 'in-use', null);
    let manifest: Manifest;
    try {
      manifest = await takeSnapshot(
        { repository, keys, tresorVersion: deps.tresorVersion, chunkBytes: settings.chunkKiB * 1024, scratchParent: settings.scratchDir ?? dataDir, ...(progress === undefined ? {} : { progress }) },
        await deps.dataSets(),
        clock.now().getTime(),
      );
      if (deps.keyHolds !== undefined) {
        const before = (await deps.keyHolds.holds()).filter((h) => h.holder === pending).map((h) => h.masterVersion);
        await deps.keyHolds.hold(snapshotHolder(manifest.id), before, null);
        await deps.keyHolds.hold(snapshotHolder(manifest.id), 'in-use', null);
      }
    } finally {
      await deps.keyHolds?.releaseHolds([pending]);
    }
    // The tombstone list grows with every backup and is never rolled back (tombstones.ts).
    const recorded = await recordTombstones(repository, keys, await liveTombstones(deps.storage.keys));
    lastSnapshotAt = manifest.takenAt;
    await share((outcomes) => outcomes.snapshotTaken(manifest.takenAt));
    return { manifest, tombstones: { total: recorded.tombstones.length, added: recorded.added } };
  }

  /**
   * The master key versions of kept snapshots stay, those of dropped ones are released (a master
   * rotation then destroys them). A kept snapshot without a hold (taken before holds existed, or
   * recorded in a key store a restore has since rolled back) holds every version there is: what
   * it needs is not known, and keeping a key too long is the lesser harm than losing a backup.
   */
  async function holdKeysFor(refs: ReadonlyArray<{ id: string; takenAt: number }>, retention: RetentionResult): Promise<void> {
    const holds = deps.keyHolds;
    if (holds === undefined) return;
    await holds.releaseHolds(retention.drop.map(snapshotHolder));
    const current = new Map((await holds.holds()).map((h) => [h.holder, h.until]));
    const takenAt = new Map(refs.map((r) => [r.id, r.takenAt]));
    for (const { id, reasons } of retention.keep) {
      const until = keptUntil(takenAt.get(id) as number, reasons, settings.retention);
      const held = current.get(snapshotHolder(id));
      if (held === undefined) await holds.hold(snapshotHolder(id), 'all', until);
      else if (held !== until) await holds.hold(snapshotHolder(id), [], until);
    }
  }

  async function maintainLocked(repository: Repository, keys: BackupKeys, force: boolean) {
    const refs = await snapshotRefs(repository, keys);
    const retention = applyRetention(refs, clock.now().getTime(), settings.retention);
    await deleteSnapshots(repository, retention.drop);
    await holdKeysFor(refs, retention);
    // Reading every manifest is the expensive part: only when snapshots went, or once a day for
    // chunks a killed backup left behind.
    const now = clock.now().getTime();
    if (!force && retention.drop.length === 0 && now - lastPruneAt < 86_400_000) return { retention, pruned: { snapshots: 0, chunks: 0, packs: 0 } };
    const pruned = await pruneChunks(repository, keys);
    lastPruneAt = now;
    return { retention, pruned: { snapshots: retention.drop.length, chunks: pruned.chunks, packs: pruned.packs } };
  }

  async function maintain(repository: Repository, keys: BackupKeys, actor: Actor, force = false) {
    const result = await withRepositoryLock(repository, 'exclusive', 'prune', () => maintainLocked(repository, keys, force));
    if (result.pruned.snapshots > 0 || result.pruned.packs > 0) {
      await deps.audit.record(deps.platformRealm, [operatorEvent('backup.pruned', actor, { detail: `${where}${result.pruned.snapshots} snapshots, ${result.pruned.packs} packs (${result.pruned.chunks} chunks)` })]);
    }
    return result;
  }

  async function verifyLocked(repository: Repository, keys: BackupKeys, id: string | undefined, progress: Progress | undefined): Promise<{ report: VerifyReport; manifest: Manifest }> {
    const target = id ?? (await listSnapshotIds(repository)).at(-1);
    if (target === undefined) throw new BackupError('snapshot-not-found', `no snapshots in ${repository.display} to verify`, { status: 404, expose: true });
    const manifest = await readManifest(repository, keys, target);
    const tombstones = mergeTombstones(await readTombstones(repository, keys), await liveTombstones(deps.storage.keys));
    const report = await verifySnapshot({ repository, keys, scratchParent: dataDir, checkTenant: checkTrail, ...readableChecks(tombstones), ...postgresDeps(), ...(progress === undefined ? {} : { progress }) }, target);
    await markVerified(repository, keys, { id: target, verifiedAt: clock.now().getTime(), seconds: report.seconds, bytes: report.bytes });
    if (newestVerifiedTakenAt === undefined || manifest.takenAt > newestVerifiedTakenAt) newestVerifiedTakenAt = manifest.takenAt;
    await share((outcomes) => outcomes.verified(manifest.takenAt));
    return { report, manifest };
  }

  /** The snapshot's tenant data set and key store (SQLite), restored into scratch and checked, the tenant's trail included. */
  async function stageTenant(repository: Repository, keys: BackupKeys, manifest: Manifest, tenantId: string, scratch: string, progress: Progress | undefined) {
    const wanted = (d: { kind: string; id: string }) => (d.kind === 'tenant' && d.id === tenantId) || d.kind === 'keys';
    if (!manifest.dataSets.some((d) => d.kind === 'tenant' && d.id === tenantId)) throw new BackupError('restore-refused', `snapshot ${manifest.id} has no tenant ${tenantId}`, { status: 404, expose: true });
    const restored = await restoreFiles({ repository, keys, ...(progress === undefined ? {} : { progress }) }, manifest, scratch, wanted);
    for (const { dataSet, file } of restored) checkSqliteCopy(file, dataSet.counts, `snapshot ${manifest.id}: ${dataSet.kind === 'tenant' ? `tenant ${dataSet.id}` : dataSet.kind}`);
    const tenantFile = restored.find((r) => r.dataSet.kind === 'tenant')?.file as string;
    // The restored audit trail must be intact up to its own end before it becomes the live one.
    const copy = openSqliteDatabase(tenantFile);
    try {
      await checkTrail(copy, tenantId, `snapshot ${manifest.id}: tenant ${tenantId}`);
    } finally {
      await copy.close();
    }
    const keysFile = restored.find((r) => r.dataSet.kind === 'keys')?.file;
    return { tenantFile, keysFile };
  }

  /**
   * The part of a tenant's restore both engines share, once the snapshot's data set is staged
   * and checked: the state being replaced is kept (a full snapshot first, so the restore can be
   * undone); key versions the restored records need and the live store has since retired come
   * back (`mergeKeys`); every erasure is applied again; the swap (`install`); then the tenant's
   * erasures and trail (`afterTenantRestore`) and the operators' trail.
   */
  async function swapTenantIn(repository: Repository, keys: BackupKeys, manifest: Manifest, tenantId: string, actor: Actor, staged: { mergeKeys(): Promise<void>; install(target: string): Promise<void> }) {
    const pre = await snapshotLocked(repository, keys, undefined);
    await deps.audit.record(deps.platformRealm, [operatorEvent('backup.created', actor, { detail: `${where}${pre.manifest.id} (before restoring tenant ${tenantId} to ${manifest.id})` })]);
    await staged.mergeKeys();
    const tombstones = mergeTombstones(await readTombstones(repository, keys), await liveTombstones(deps.storage.keys));
    const keysDestroyed = await applyTombstones(deps.storage.keys, tombstones, tenantId);
    await deps.storage.replaceTenant(tenantId, staged.install);
    await deps.afterTenantRestore?.(tenantId, manifest.id, tombstones.filter((t) => t.tenant === tenantId).map((t) => t.subject), actor);
    await deps.audit.record(deps.platformRealm, [operatorEvent('backup.restored', actor, { resources: [`Tenant/${tenantId}`], detail: `${where}tenant ${tenantId} to ${manifest.id}; before: ${pre.manifest.id}` })]);
    return { manifest, preRestoreSnapshot: pre.manifest.id, keysDestroyed };
  }

  /**
   * PostgreSQL: the snapshot's tenant schema is rebuilt beside the live one (checked, its trail
   * verified), the key rows merged and tombstones applied, then the two schemas are swapped by
   * renaming in one transaction — every session sees the old data set or the new one.
   */
  async function restorePgTenant(repository: Repository, keys: BackupKeys, manifest: Manifest, tenantId: string, actor: Actor, progress: Progress | undefined) {
    const postgres = deps.storage.postgres as NonNullable<RegionStorage['postgres']>;
    const tenantSet = manifest.dataSets.find((d) => d.kind === 'tenant' && d.id === tenantId);
    const keysSet = manifest.dataSets.find((d) => d.kind === 'keys');
    if (tenantSet === undefined) throw new BackupError('restore-refused', `snapshot ${manifest.id} has no tenant ${tenantId}`, { status: 404, expose: true });
    if (formatOf(tenantSet) !== 'pg-rows/1') throw new BackupError('restore-refused', `snapshot ${manifest.id} holds SQLite files; this deployment runs on PostgreSQL`, { status: 409, expose: true });
    const suffix = randomBytes(4).toString('hex');
    const staged = `${postgres.schemaPrefix}_restore_${suffix}`;
    const stagedKeys = `${postgres.schemaPrefix}_restorekeys_${suffix}`;
    const pgDeps = { repository, keys, migrations: deps.migrations, now: () => clock.now().getTime(), ...(progress === undefined ? {} : { progress }) };
    let swapped = false;
    try {
      await restorePgDataSet(pgDeps, manifest, tenantSet, postgres.pool, staged);
      await checkTrail(openPostgresDatabase(postgres.pool, staged), tenantId, `snapshot ${manifest.id}: tenant ${tenantId}`);
      if (keysSet !== undefined) {
        await restorePgDataSet(pgDeps, manifest, keysSet, postgres.pool, stagedKeys);
        await refuseUnreadable(openPostgresDatabase(postgres.pool, stagedKeys), `snapshot ${manifest.id}: tenant ${tenantId}`, tenantId);
      }
      return await swapTenantIn(repository, keys, manifest, tenantId, actor, {
        mergeKeys: async () => {
          if (keysSet !== undefined) await mergeTenantKeyRows(deps.storage, await tenantKeyRowsOf(openPostgresDatabase(postgres.pool, stagedKeys), tenantId));
        },
        install: async (live) => {
          await swapPgSchema(postgres.pool, live, staged);
          swapped = true;
        },
      });
    } finally {
      if (!swapped) await dropPgSchema(postgres.pool, staged).catch(() => undefined);
      await dropPgSchema(postgres.pool, stagedKeys).catch(() => undefined);
    }
  }

  return {
    configured,
    drillReportFile,
    status: () => ({ configured, lastSnapshotAt, lastFailureAt, newestVerifiedTakenAt, lastDrill, failures: { ...failures }, unreadable: { ...unreadable } }),

    async sharedStatus() {
      const own = { configured, lastSnapshotAt, lastFailureAt, newestVerifiedTakenAt, lastDrill, failures: { ...failures }, unreadable: { ...unreadable } };
      if (deps.outcomes === undefined) return own;
      // A database that cannot be read now must not take the rest of /metrics down with it.
      const shared = await deps.outcomes.read().catch(() => undefined);
      if (shared === undefined) return own;
      const later = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
      return {
        configured,
        lastSnapshotAt: later(shared.lastSnapshotAt, lastSnapshotAt),
        newestVerifiedTakenAt: later(shared.newestVerifiedTakenAt, newestVerifiedTakenAt),
        lastFailureAt: later(shared.lastFailureAt, lastFailureAt),
        lastDrill: shared.lastDrill === undefined || (lastDrill !== undefined && Date.parse(lastDrill.at) > Date.parse(shared.lastDrill.at)) ? lastDrill : shared.lastDrill,
        // Every process's failures were counted in the shared record (this one's included).
        failures: shared.failures,
        unreadable: shared.unreadable,
      };
    },

    async refresh() {
      const refs = await withRepository(async (repository) => (hasKey() ? snapshotRefs(repository, keysOf(false)) : []));
      lastSnapshotAt = refs.at(-1)?.takenAt ?? lastSnapshotAt;
      newestVerifiedTakenAt = refs.filter((r) => r.verified).at(-1)?.takenAt ?? newestVerifiedTakenAt;
    },

    run({ progress, actor = system, reason = 'manual' } = {}) {
      return guarded('run', actor, () =>
        withRepository(async (repository) => {
          keyFileCreated = undefined;
          const keys = keysOf(true);
          const created = keyFileCreated === undefined ? {} : { keyFileCreated };
          const { manifest, tombstones } = await withRepositoryLock(repository, 'shared', 'backup', () => snapshotLocked(repository, keys, progress));
          await deps.audit.record(deps.platformRealm, [operatorEvent('backup.created', actor, { detail: `${where}${manifest.id} (${reason}): ${manifest.dataSets.length} data sets, ${manifest.added.chunks} new chunks` })]);
          // Retention and prune need the repository to themselves; when another backup or a
          // restore holds it they wait for the next run (nothing is lost by waiting).
          try {
            const { retention, pruned } = await maintain(repository, keys, actor);
            return { manifest, tombstones, retention, pruned, ...created };
          } catch (error) {
            if (error instanceof BackupError && error.code === 'backup-busy') return { manifest, tombstones, retention: undefined, pruned: undefined, maintenanceSkipped: error.message, ...created };
            throw error;
          }
        }),
      );
    },

    list() {
      return withRepository((repository) => summarise(repository, keysOf(false)));
    },

    recordErasures() {
      return guarded('tombstones', system, () =>
        // No backup key yet: no backup was ever taken that could bring a key back; the first one records the list.
        withRepository(async (repository) => (hasKey() ? (await recordTombstones(repository, keysOf(false), await liveTombstones(deps.storage.keys))).tombstones.length : 0)),
      );
    },

    async reapplyErasures() {
      // Outside the database, the list is what a point-in-time restore of the database cannot roll back.
      const listed = await withRepository(async (repository) => (hasKey() ? readTombstones(repository, keysOf(false)) : []));
      const tombstones = mergeTombstones(listed, await liveTombstones(deps.storage.keys));
      return reapplyTombstones(deps.storage.keys, tombstones, (tenantId, subjects, keysDestroyed) => deps.afterErasuresReapplied?.(tenantId, subjects, keysDestroyed) ?? Promise.resolve());
    },

    verify(id, { progress, actor = system } = {}) {
      return guarded('verify', actor, () =>
        withRepository(async (repository) => {
          const keys = keysOf(false);
          const { report } = await withRepositoryLock(repository, 'shared', 'verify', () => verifyLocked(repository, keys, id, progress));
          await deps.audit.record(deps.platformRealm, [operatorEvent('backup.verified', actor, { detail: `${where}${report.id}: ${report.dataSets} data sets in ${report.seconds.toFixed(1)} s` })]);
          return report;
        }),
      );
    },

    async drill() {
      const started = clock.now();
      let report: DrillReport;
      try {
        const verified = await withRepository(async (repository) => {
          const keys = keysOf(false);
          return withRepositoryLock(repository, 'shared', 'restore drill', () => verifyLocked(repository, keys, undefined, undefined));
        });
        const end = clock.now().getTime();
        report = { format: 'tresor-backup-drill/1', at: started.toISOString(), snapshot: verified.report.id, ok: true, restoreSeconds: verified.report.seconds, rpoSeconds: (end - (newestVerifiedTakenAt ?? verified.manifest.takenAt)) / 1000, bytes: verified.report.bytes };
        await deps.audit.record(deps.platformRealm, [operatorEvent('backup.verified', system, { detail: `${where}restore drill ${verified.report.id}: ${verified.report.seconds.toFixed(1)} s` })]);
      } catch (error) {
        report = {
          format: 'tresor-backup-drill/1',
          at: started.toISOString(),
          snapshot: undefined,
          ok: false,
          restoreSeconds: undefined,
          rpoSeconds: newestVerifiedTakenAt === undefined ? undefined : (clock.now().getTime() - newestVerifiedTakenAt) / 1000,
          bytes: undefined,
          error: error instanceof BackupError ? `${error.code}: ${error.message}` : 'internal error',
        };
        appendDrill(drillReportFile, report);
        lastDrill = report;
        await share((outcomes) => outcomes.drilled(report));
        return failed('drill', error, system);
      }
      appendDrill(drillReportFile, report);
      lastDrill = report;
      await share((outcomes) => outcomes.drilled(report));
      return report;
    },

    maintain(actor = system) {
      return guarded('prune', actor, () => withRepository((repository) => maintain(repository, keysOf(false), actor, true)));
    },

    restoreTo(id, dir, { tenant, progress, actor = system } = {}) {
      return guarded('restore', actor, () =>
        withRepository(async (repository) => {
          const keys = keysOf(false);
          return withRepositoryLock(repository, 'shared', 'restore', async () => {
            const manifest = await readManifest(repository, keys, id);
            if (manifest.dataSets.some((d) => formatOf(d) !== 'sqlite-file/1')) {
              throw new BackupError('restore-refused', `snapshot ${id} holds PostgreSQL data sets, which are restored into the running system one tenant at a time (--tenant T without --to); a directory takes SQLite files only`, { status: 409, expose: true });
            }
            if (tenant !== undefined && !manifest.dataSets.some((d) => d.kind === 'tenant' && d.id === tenant)) throw new BackupError('restore-refused', `snapshot ${id} has no tenant ${tenant}`, { status: 404, expose: true });
            const restored = await restoreFiles({ repository, keys, ...(progress === undefined ? {} : { progress }) }, manifest, dir, (d) => tenant === undefined || (d.kind === 'tenant' && d.id === tenant) || d.kind === 'keys');
            // The key store restored with the snapshot gets every erasure since (never rolled back).
            const keysFile = restored.find((r) => r.dataSet.kind === 'keys')?.file;
            if (keysFile !== undefined) {
              try {
                await withSqliteFile(keysFile, (db) => refuseUnreadable(db, `snapshot ${id}`, tenant));
              } catch (error) {
                // Nothing unreadable is left behind for a server to start on.
                for (const { file } of restored) rmSync(file, { force: true });
                throw error;
              }
            }
            let keysDestroyed = 0;
            if (keysFile !== undefined) {
              const tombstones = mergeTombstones(await readTombstones(repository, keys), await liveTombstones(deps.storage.keys));
              keysDestroyed = applyTombstonesToFile(keysFile, tombstones);
            }
            await deps.audit.record(deps.platformRealm, [operatorEvent('backup.restored', actor, { detail: `${where}${id} into a new directory${tenant === undefined ? '' : ` (tenant ${tenant})`}` })]).catch(() => undefined);
            return { manifest, dataSets: restored.length, keysDestroyed };
          });
        }),
      );
    },

    restoreDeployment(id, { actor, progress }) {
      return guarded('restore', actor, () =>
        withRepository(async (repository) => {
          const keys = keysOf(false);
          return withRepositoryLock(repository, 'shared', 'restore', async () => {
            const postgres = deps.storage.postgres;
            if (postgres === undefined) throw new BackupError('restore-refused', 'a SQLite deployment is restored into a new, empty directory (--to DIR), then started there', { status: 409, expose: true });
            const manifest = await readManifest(repository, keys, id);
            if (manifest.dataSets.some((d) => formatOf(d) !== 'pg-rows/1')) throw new BackupError('restore-refused', `snapshot ${id} holds SQLite files; this deployment runs on PostgreSQL`, { status: 409, expose: true });
            if (!(await deps.isEmpty())) {
              throw new BackupError(
                'restore-refused',
                deps.region === undefined
                  ? 'this deployment has tenants or operators: a whole snapshot is restored only into an empty one (a new database or schema prefix); restore single tenants with --tenant'
                  : `region ${deps.region}'s key store holds keys: a whole region is restored only into an empty database; restore single tenants with --tenant`,
                { status: 409, expose: true },
              );
            }
            const tombstones = mergeTombstones(await readTombstones(repository, keys), await liveTombstones(deps.storage.keys));
            const pgDeps = { repository, keys, migrations: deps.migrations, now: () => clock.now().getTime(), ...(progress === undefined ? {} : { progress }) };
            const keysSet = manifest.dataSets.find((d) => d.kind === 'keys');
            if (keysSet !== undefined) {
              const probe = `${postgres.schemaPrefix}_restorekeys_${randomBytes(4).toString('hex')}`;
              try {
                await restorePgDataSet(pgDeps, manifest, keysSet, postgres.pool, probe);
                await refuseUnreadable(openPostgresDatabase(postgres.pool, probe), `snapshot ${id}`);
              } finally {
                await dropPgSchema(postgres.pool, probe).catch(() => undefined);
              }
            }
            const schemaOf = (d: { kind: string; id: string }) => (d.kind === 'tenant' ? deps.storage.describeTenant(d.id) : `${postgres.schemaPrefix}_${d.kind}`);
            // The empty data sets this process made at start give way to the snapshot's; a data set
            // that fails its checks leaves its schema absent, and the restore can simply be run again.
            for (const dataSet of manifest.dataSets) {
              const schema = schemaOf(dataSet);
              await dropPgSchema(postgres.pool, schema);
              await restorePgDataSet(pgDeps, manifest, dataSet, postgres.pool, schema);
              if (dataSet.kind === 'tenant') await checkTrail(openPostgresDatabase(postgres.pool, schema), dataSet.id, `snapshot ${id}: tenant ${dataSet.id}`);
            }
            const keysDestroyed = await applyTombstones(deps.storage.keys, tombstones);
            // The restored key store's holds are those of the snapshot's time: the repository's kept snapshots hold again.
            const refs = await snapshotRefs(repository, keys);
            await holdKeysFor(refs, applyRetention(refs, clock.now().getTime(), settings.retention));
            // Each trail gets its restore mark (a checkpoint log on this host may know a later history).
            for (const dataSet of manifest.dataSets) if (dataSet.kind === 'tenant') await deps.audit.markRestored(dataSet.id, { snapshotId: id, actor });
            await deps.audit.record(deps.platformRealm, [operatorEvent('backup.restored', actor, { detail: `${where}the whole ${deps.region === undefined ? 'deployment' : 'region'} to ${id}: ${manifest.dataSets.length} data sets` })]);
            return { manifest, dataSets: manifest.dataSets.length, keysDestroyed };
          });
        }),
      );
    },

    restoreTenant(id, tenantId, { actor, progress }) {
      return guarded('restore', actor, () =>
        withRepository(async (repository) => {
          const keys = keysOf(false);
          const started = performance.now();
          return withRepositoryLock(repository, 'shared', 'restore', async () => {
            const manifest = await readManifest(repository, keys, id);
            if (deps.storage.postgres !== undefined) {
              const result = await restorePgTenant(repository, keys, manifest, tenantId, actor, progress);
              return { ...result, seconds: (performance.now() - started) / 1000 };
            }
            const scratch = scratchIn(dataDir, 'restore');
            try {
              const { tenantFile, keysFile } = await stageTenant(repository, keys, manifest, tenantId, scratch, progress);
              if (keysFile !== undefined) await withSqliteFile(keysFile, (db) => refuseUnreadable(db, `snapshot ${manifest.id}: tenant ${tenantId}`, tenantId));
              const result = await swapTenantIn(repository, keys, manifest, tenantId, actor, {
                mergeKeys: async () => {
                  if (keysFile !== undefined) await mergeTenantKeys(deps.storage, keysFile, tenantId);
                },
                install: async (target) => installFile(tenantFile, target),
              });
              return { ...result, seconds: (performance.now() - started) / 1000 };
            } finally {
              rmSync(scratch, { recursive: true, force: true });
            }
          });
        }),
      );
    },
  };
}

type KeyRows = { tenantKeys: Array<Record<string, unknown>>; dataKeys: Array<Record<string, unknown>> };

/** One tenant's rows of a key store (a restored copy). */
async function tenantKeyRowsOf(db: SqlExecutor, tenantId: string): Promise<KeyRows> {
  return {
    tenantKeys: await db.query(`SELECT tenant_id, purpose, version, wrapped, master_version, created_at FROM ${db.table('tenant_keys')} WHERE tenant_id = ?`, [tenantId]),
    dataKeys: await db.query(`SELECT tenant_id, key_id, subject, version, wrapped, kek_version, created_at, shredded_at FROM ${db.table('data_keys')} WHERE tenant_id = ?`, [tenantId]),
  };
}

/** The snapshot's key store file (SQLite): its rows of one tenant merged into the live store. */
async function mergeTenantKeys(storage: RegionStorage, keysFile: string, tenantId: string): Promise<void> {
  const snapshot = openSqliteDatabase(keysFile);
  try {
    await mergeTenantKeyRows(storage, await tenantKeyRowsOf(snapshot, tenantId));
  } finally {
    await snapshot.close();
  }
}

/** Adds the snapshot's key rows of one tenant that the live key store lacks (retired since); never overwrites one. */
async function mergeTenantKeyRows(storage: RegionStorage, { tenantKeys, dataKeys }: KeyRows): Promise<void> {
  const db = storage.keys;
  const value = (v: unknown) => (v === null || v === undefined ? null : v instanceof Uint8Array ? v : typeof v === 'bigint' ? Number(v) : (v as string | number));
  await db.transaction(async (tx) => {
    for (const r of tenantKeys) {
      await tx.execute(`INSERT INTO ${tx.table('tenant_keys')} (tenant_id, purpose, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, [r['tenant_id'], r['purpose'], r['version'], r['wrapped'], r['master_version'], r['created_at']].map(value));
    }
    for (const r of dataKeys) {
      // ON CONFLICT on either unique key: a version the live store has (or has shredded) stays as it is.
      await tx.execute(
        `INSERT INTO ${tx.table('data_keys')} (tenant_id, key_id, subject, version, wrapped, kek_version, created_at, shredded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [r['tenant_id'], r['key_id'], r['subject'], r['version'], r['wrapped'], r['kek_version'], r['created_at'], r['shredded_at']].map(value),
      );
    }
  });
}

async function withSqliteFile<T>(file: string, fn: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = openSqliteDatabase(file);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Tombstones applied straight to a restored key store file (a restore into a new directory). */
function applyTombstonesToFile(keysFile: string, tombstones: ReadonlyArray<{ tenant: string; subject: string; shreddedAt: number }>): number {
  if (tombstones.length === 0) return 0;
  const db = new Database(keysFile, { fileMustExist: true });
  try {
    db.pragma('secure_delete = ON');
    const shred = db.prepare('UPDATE data_keys SET wrapped = NULL, shredded_at = ? WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL');
    const count = db.transaction(() => tombstones.reduce((n, t) => n + shred.run(t.shreddedAt, t.tenant, t.subject).changes, 0))();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    return count;
  } finally {
    db.close();
  }
}

/**
 * Puts a restored file in the live one's place: the old file's WAL and shared-memory files go
 * first (a WAL left beside the new file would be replayed into it), then an atomic rename and
 * a sync of the directory (the swap survives a power cut).
 */
function installFile(restored: string, target: string): void {
  rmSync(`${target}-wal`, { force: true });
  rmSync(`${target}-shm`, { force: true });
  renameSync(restored, target);
  const dir = openSync(dirname(target), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function readLastDrill(file: string): DrillReport | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  try {
    return JSON.parse(lines.at(-1) ?? '') as DrillReport;
  } catch {
    return undefined;
  }
}

function appendDrill(file: string, report: DrillReport): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${JSON.stringify(report)}\n`, { mode: 0o600 });
}

