import type { Rule } from '../types.js';
import { bruteForce } from './brute-force.js';
import { bulkVolume } from './bulk-volume.js';
import { crossTenant } from './cross-tenant.js';
import { deniedBurst } from './denied-burst.js';
import { emergencyAccess } from './emergency-access.js';
import { massRead } from './mass-read.js';
import { offHours } from './off-hours.js';

/**
 * Every rule, one line each: what it watches and how bad it is. A rule is a plain object (its
 * own file: id, severity, description, default thresholds, one pure function); the engine does
 * the I/O. Each has its runbook at docs/runbooks/<id>.md (a test checks it).
 */
export const rules: readonly Rule[] = [
  // Sign-in and credentials
  bruteForce,
  // Access to records
  massRead, // high: one principal reads far more distinct patients than its ceiling or habit
  bulkVolume, // high: searches and exports return a bulk of resources to one principal
  emergencyAccess, // medium, critical when repeated: break-the-glass, for the review queue
  deniedBurst, // medium: one principal refused again and again within minutes
  crossTenant, // high: a credential of this tenant presented at another
  offHours, // low: staff reading records outside the tenant's working hours
];
