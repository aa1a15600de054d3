import { IdentityError } from './errors.js';

/**
 * Placeholder roles for service accounts (SPEC I5: predefined permissions). The identity issue
 * adds people and more roles; permissions stay the unit that routes check.
 */
export const roles = ['admin', 'clinician', 'reader'] as const;
export type Role = (typeof roles)[number];

export type Permission = 'records:read' | 'records:write' | 'records:delete';

const grants: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(['records:read', 'records:write', 'records:delete']),
  clinician: new Set(['records:read', 'records:write', 'records:delete']),
  reader: new Set(['records:read']),
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
