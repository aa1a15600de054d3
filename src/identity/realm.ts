/**
 * Platform operators are not members of any tenant: their accounts, sessions and audit trail
 * live in a data set of their own with this id, which no tenant may take (tenants.ts reserves
 * it). They always sign in with two factors and never reach records.
 */
export const operatorRealm = 'operators';
