/** Encrypted, deduplicated backups of every data set (snapshots.ts says how; backup-keys.ts with which keys). */
export { backupKeysFrom, generateBackupKey, loadBackupKey, type BackupKeys, type BackupKeySource } from './backup-keys.js';
export { BackupError, type BackupErrorCode } from './errors.js';
export type { Repository } from './repository.js';
export { openRepository } from './open-repository.js';
export { listSnapshotIds, readManifest, restoreFiles, takeSnapshot, verifySnapshot, type DataSetRef, type Manifest, type ManifestDataSet, type Progress, type VerifyReport } from './snapshots.js';
