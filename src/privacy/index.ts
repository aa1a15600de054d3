/**
 * Privacy by the book (GDPR Art. 12–21, 30; ISO/IEC 27701): requests from data subjects, erasure
 * with legal holds and retention duties, the personal download, consent and restriction enforced
 * by the record guard, records of processing, retention by class.
 */
export {};
export { createErasures, type EraseInput, type ErasureCheck, type ErasureDeps, type ErasureRecord, type Erasures, type RetentionDuty } from './erasure.js';
export { ErasureError, type ErasureErrorCode } from './erasure-errors.js';
export { privacyEvent, type PrivacyCaller } from './erasure-event.js';
export { erasureMigrations } from './erasure-migrations.js';
export { erasureRoutes, type ErasureRoutesDeps } from './erasure-routes.js';
export { checkSubject, createHolds, type Holds, type LegalHold } from './holds.js';
export { addYears, classOfType, legalBasis, retentionClasses, typesOfClass, type RetentionClass } from './retention-classes.js';
export { createRetentionSettings, type RetentionPeriods, type RetentionSettings } from './retention-settings.js';
export { createRetention, retentionJobActor, type ExpiringSubject, type Retention, type RetentionReport } from './retention.js';
