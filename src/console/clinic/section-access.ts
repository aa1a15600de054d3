import { IdentityError, parseRole, personRoles, type PersonRole } from '../../identity/index.js';
import type { StaffCaller } from '../page-guard.js';
import { sectionsOf, type ClinicSection } from './nav.js';

/**
 * A console section's door: the same permission matrix that decides the navigation decides the
 * answer to a direct request — a role the section is not for gets 403 (ASVS 5 V8.2.1). Patients
 * have their own portal; the console is for staff.
 */
export function requireSection(caller: StaffCaller, section: ClinicSection): void {
  const role = caller.principal.role;
  if (role === 'patient' || !(personRoles as readonly string[]).includes(role) || !sectionsOf(parseRole(role, personRoles) as PersonRole).includes(section)) {
    throw new IdentityError('forbidden', `Your role (${role}) cannot use this part of the console.`, { status: 403, expose: true });
  }
}
