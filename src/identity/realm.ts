/**
 * Platform operators are not members of any tenant: their accounts, sessions and audit trail
 * live in a data set of their own with this id, which no tenant may take (tenants.ts reserves
 * it). They always sign in with two factors and never reach records.
 */
export const operatorRealm = 'operators';

/**
 * The roles of the operators' realm, kept apart by least privilege (OWASP ASVS 5 V8.2.1): an
 * `operator` manages tenants; a `backup-operator` lists, verifies and restores backups
 * (issue #7) and nothing else. Neither reaches records or a tenant's people.
 */
export const operatorRoles = ['operator', 'backup-operator'] as const;
export type OperatorRole = (typeof operatorRoles)[number];
