/**
 * Encrypted, deduplicated backups of every data set: service.ts is what the server, the CLI and
 * the backup operators' API use; snapshots.ts says how a snapshot is taken and restored,
 * packs.ts how chunks are stored, backup-keys.ts with which keys, pg-dataset.ts for PostgreSQL.
 */
export { backupKeySource, generateBackupKey, loadBackupKey, type BackupKeys } from './backup-keys.js';
export { BackupError, type BackupErrorCode } from './errors.js';
export type { Repository } from './repository.js';
export { openRepository } from './open-repository.js';
export { pgDataSetsOf, readManifest, type DataSetRef, type Manifest, type ManifestDataSet, type Progress, type VerifyReport } from './snapshots.js';
export { backupOutcomeMigrations, createBackupOutcomes, type BackupOutcomes } from './outcomes.js';
export { createRegionBackups, type RegionBackups } from './region-backups.js';
export { createBackups, type Backups, type BackupStatus, type DrillReport, type RunReport } from './service.js';
export { backupNotConfigured, createBackupDesk, parseSnapshotId, type BackupAct, type BackupDesk } from './operator-backups.js';
export type { SnapshotSummary, VerifiedMarker } from './maintenance.js';
export { createPhysicalBackups, physicalRound, findPostgresBin, parseInfo, retentionView, drillAnnotation, type PhysicalBackups, type PhysicalBackup, type PhysicalInfo, type PhysicalSettings } from './physical.js';
export { runRestoreDrill, type RestoreDrillReport } from './physical-drill.js';
