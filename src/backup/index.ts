/** Encrypted, deduplicated backups of every data set (snapshots.ts says how; backup-keys.ts with which keys; pg-dataset.ts for PostgreSQL schemas). */
export { backupKeysFrom, generateBackupKey, loadBackupKey, type BackupKeys, type BackupKeySource } from './backup-keys.js';
export { BackupError, type BackupErrorCode } from './errors.js';
export type { Repository } from './repository.js';
export { openRepository } from './open-repository.js';
export {
  checkSqliteCopy,
  formatOf,
  listSnapshotIds,
  pgDataSetsOf,
  readManifest,
  restoreFiles,
  restorePgDataSet,
  takeSnapshot,
  verifySnapshot,
  type DataSetFormat,
  type DataSetRef,
  type Manifest,
  type ManifestDataSet,
  type PgDataSetRef,
  type PgRestoreDeps,
  type Progress,
  type SqliteDataSetRef,
  type VerifyDeps,
  type VerifyReport,
} from './snapshots.js';
export { dropPgSchema, exportPgSchema, importPgSchema, swapPgSchema, type PgExport, type PgExportOptions, type PgImport, type PgImportOptions } from './pg-dataset.js';
export { createBackups, type Backups, type BackupStatus, type DrillReport, type RunReport } from './service.js';
export { snapshotRefs, type SnapshotSummary, type VerifiedMarker } from './maintenance.js';
export { lockRepository, withRepositoryLock } from './lock.js';
export { applyTombstones, liveTombstones, mergeTombstones, readTombstones, recordTombstones, type Tombstone } from './tombstones.js';
