import type { Rule } from '../types.js';
import { backupFailed } from './backup-failed.js';
import { backupOverdue } from './backup-overdue.js';
import { bruteForce } from './brute-force.js';
import { certificateExpiry } from './certificate-expiry.js';
import { diskSpace } from './disk-space.js';
import { emergencyAccess } from './emergency-access.js';
import { fimChanged } from './fim-changed.js';
import { replication } from './replication.js';

/**
 * Every rule, one line each: what it watches and how bad it is. A rule is a plain object (its
 * own file: id, severity, description, default thresholds, one pure function); the engine does
 * the I/O. Each has its runbook at docs/runbooks/<id>.md (a test checks it).
 */
export const rules: readonly Rule[] = [
  // Sign-in and credentials
  bruteForce,
  // Access to records
  emergencyAccess,
  // Platform health (probes and the operators' trail)
  backupFailed,
  backupOverdue,
  replication,
  certificateExpiry,
  diskSpace,
  // The platform's own files (probe: the file integrity check, src/fim)
  fimChanged,
];
