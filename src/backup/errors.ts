import { AppError } from '../platform/errors.js';

export type BackupErrorCode =
  | 'backup-not-configured'
  | 'backup-key-missing'
  | 'backup-key-invalid'
  | 'repository-invalid'
  | 'repository-unreachable'
  | 'repository-full'
  | 'object-missing'
  | 'object-corrupt'
  | 'manifest-invalid'
  | 'snapshot-not-found'
  | 'restore-refused'
  /** The deployment's keys cannot open the snapshot (a master key version it needs is gone). */
  | 'keys-unreadable'
  | 'backup-busy'
  | 'physical-not-configured'
  | 'physical-failed'
  | 'drill-failed'
  /** A region the deployment does not have (backups are per region). */
  | 'region-unknown';

/** Backup failures: each says what went wrong and what is unaffected (the live data always is). */
export class BackupError extends AppError<BackupErrorCode> {}
