/**
 * @module breach
 * The scope of a suspected breach, computed from the audit trails: given a window and a suspect
 * (API keys, accounts, OAuth apps, source addresses, or exposed raw files), which tenants,
 * patients, records and data classes were disclosed, in clear through the API or only as
 * ciphertext, with first and last access per patient, refused attempts apart, and a SHA-256 over
 * inputs and results so the numbers can be derived again. Plain JSON, stored by whoever freezes it
 * (an incident). Does not decide who must be notified, write letters or store anything itself.
 */
export { createBreachScopes, breachDefaults, type BreachScopes, type BreachDeps, type ScopeAct, type ScopeCheck } from './breach.js';
export { inputDefaults, parseRequest, parseSuspect, type ScopeInputs, type ScopeRequest, type Suspect, type SuspectKind } from './inputs.js';
export { canonicalJson, scopeFormat, scopeHash, type Disclosure, type PatientAccess, type Scope, type TenantScope } from './scope.js';
export { BreachError, type BreachErrorCode } from './errors.js';
export { breachRoutes } from './routes.js';
