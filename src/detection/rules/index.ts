import type { Rule } from '../types.js';
import { bruteForce } from './brute-force.js';
import { emergencyAccess } from './emergency-access.js';
import { apiKeyCreated } from './api-key-created.js';
import { auditChainFindings } from './audit-chain-findings.js';
import { auditCheckpointFailing } from './audit-checkpoint-failing.js';
import { keyChange } from './key-change.js';
import { mfaRemoved } from './mfa-removed.js';
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
  // Access to records
  emergencyAccess,
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
];
