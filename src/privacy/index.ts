/**
 * Privacy by the book (GDPR Art. 12–21, 30; ISO/IEC 27701): requests from data subjects, erasure
 * with legal holds and retention duties, the personal download, consent and restriction enforced
 * by the record guard, records of processing, retention by class.
 */
export { decideConsent, appSystem, consentClasses, dataClassSystem, roleSystem, type ActiveConsent, type ConsentCaller, type ConsentDecision, type Provision } from './consent-decide.js';
export { parseConsent, isPrivacyConsent } from './consent-parse.js';
export { createConsentPolicies, type ConsentPoliciesDeps } from './consent-policies.js';
export { consentMigrations } from './consent-migrations.js';
export { restrictionMigrations } from './restriction-migrations.js';
export { createRestrictions, restrictionGrounds, type Restriction, type RestrictionGround, type Restrictions } from './restrictions.js';
export { PrivacyError, type PrivacyErrorCode } from './restriction-errors.js';
export { restrictionRoutes, type RestrictionRoutesDeps } from './restriction-routes.js';
export { createConsentWriter, type ConsentWriter, type ConsentWriterDeps } from './consent-writer.js';
