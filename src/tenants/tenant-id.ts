import { TenantError } from './errors.js';

/**
 * Tenant ids are lowercase slugs: 1–40 of a–z, 0–9 and inner hyphens. They become file names
 * (SQLite) and schema names (PostgreSQL), so the pattern is the first line of path-traversal
 * and SQL-identifier defence; the storage layer checks it again.
 */
export const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function parseTenantId(value: string): string {
  if (!tenantIdPattern.test(value)) {
    throw new TenantError('tenant-id-invalid', 'A tenant id is 1–40 lowercase letters, digits and inner hyphens, e.g. "clinic-berlin".', { status: 400 });
  }
  return value;
}
