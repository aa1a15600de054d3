import { IdentityError } from './errors.js';

/**
 * Placeholder roles for service accounts (SPEC I5: predefined permissions). The identity issue
 * adds people and more roles; permissions stay the unit that routes check.
 */
export const roles = ['admin', 'clinician', 'reader', 'auditor'] as const;
export type Role = (typeof roles)[number];

export type Permission = 'records:read' | 'records:write' | 'records:delete' | 'audit:read';

// Separation of duties (OWASP ASVS 5 V8.2): the auditor reads the audit trail and nothing else;
// nobody who works with records reads the trail of who worked with them.
const grants: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(['records:read', 'records:write', 'records:delete']),
  clinician: new Set(['records:read', 'records:write', 'records:delete']),
  reader: new Set(['records:read']),
  auditor: new Set(['audit:read']),
};

export function parseRole(value: string): Role {
  if (!(roles as readonly string[]).includes(value)) {
    throw new IdentityError('role-invalid', `Unknown role "${value}"; one of: ${roles.join(', ')}.`, { status: 400 });
  }
  return value as Role;
}

export function hasPermission(role: Role, permission: Permission): boolean {
  return grants[role].has(permission);
}
