import type { Rule } from '../types.js';
import { backupFailed } from './backup-failed.js';
import { backupOverdue } from './backup-overdue.js';
import { bruteForce } from './brute-force.js';
import { bulkVolume } from './bulk-volume.js';
import { certificateExpiry } from './certificate-expiry.js';
import { clientAuthBurst } from './client-auth-burst.js';
import { credentialStuffing } from './credential-stuffing.js';
import { crossTenant } from './cross-tenant.js';
import { deniedBurst } from './denied-burst.js';
import { diskSpace } from './disk-space.js';
import { emergencyAccess } from './emergency-access.js';
import { apiKeyCreated } from './api-key-created.js';
import { auditChainFindings } from './audit-chain-findings.js';
import { auditCheckpointFailing } from './audit-checkpoint-failing.js';
import { keyChange } from './key-change.js';
import { fimChanged } from './fim-changed.js';
import { massRead } from './mass-read.js';
import { mfaRemoved } from './mfa-removed.js';
import { newSource } from './new-source.js';
import { notificationDeadline } from './notification-deadline.js';
import { offHours } from './off-hours.js';
import { privacyRequestDue } from './privacy-request-due.js';
import { operatorSignIn } from './operator-sign-in.js';
import { passwordSpraying } from './password-spraying.js';
import { replication } from './replication.js';
import { roleChange } from './role-change.js';
import { sealedFieldIntegrity } from './sealed-field-integrity.js';
import { settingsChanged } from './settings-changed.js';
import { tokenReuse } from './token-reuse.js';
import { wideApp } from './wide-app.js';

/**
 * Every rule, one line each: what it watches and how bad it is. A rule is a plain object (its
 * own file: id, severity, description, default thresholds, one pure function); the engine does
 * the I/O. Each has its runbook at docs/runbooks/<id>.md (a test checks it).
 */
export const rules: readonly Rule[] = [
  // Sign-in and credentials
  bruteForce,
  passwordSpraying,
  credentialStuffing,
  clientAuthBurst,
  newSource,
  operatorSignIn,
  // Access to records
  massRead, // high: one principal reads far more distinct patients than its ceiling or habit
  bulkVolume, // high: searches and exports return a bulk of resources to one principal
  emergencyAccess, // medium, critical when repeated: break-the-glass, for the review queue
  deniedBurst, // medium: one principal refused again and again within minutes
  crossTenant, // high: a credential of this tenant presented at another
  offHours, // low: staff reading records outside the tenant's working hours
  // Privilege and security changes
  roleChange,
  mfaRemoved,
  wideApp,
  apiKeyCreated,
  settingsChanged,
  keyChange,
  tokenReuse,
  // Integrity
  sealedFieldIntegrity,
  auditChainFindings,
  auditCheckpointFailing,
  // Platform health (probes and the operators' trail)
  backupFailed, // high, critical for a drill: a backup, verify or drill failed
  backupOverdue, // high: no snapshot or drill within its interval
  replication, // high, critical without a synchronous standby
  certificateExpiry, // medium, critical in the last week
  diskSpace, // high, critical under 5 % free
  // The platform's own files (probe: the file integrity check, src/fim)
  fimChanged, // high, critical for a baseline that does not verify: a file Tresor runs from changed
  // Breach notification (the assessment's deadline job)
  notificationDeadline, // medium at two thirds, high at 90 %, critical overdue: a duty to notify runs out of time
  // Data subjects' requests (the requests' deadline job)
  privacyRequestDue, // medium at two thirds of the month, high overdue: a patient's request runs out of time
];
