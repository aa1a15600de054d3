import type { Rule } from '../types.js';
import { bruteForce } from './brute-force.js';
import { clientAuthBurst } from './client-auth-burst.js';
import { credentialStuffing } from './credential-stuffing.js';
import { emergencyAccess } from './emergency-access.js';
import { newSource } from './new-source.js';
import { operatorSignIn } from './operator-sign-in.js';
import { passwordSpraying } from './password-spraying.js';

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
  emergencyAccess,
];
