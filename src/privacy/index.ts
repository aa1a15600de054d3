/**
 * Privacy by the book (GDPR Art. 12–21, 30; ISO/IEC 27701): requests from data subjects, erasure
 * with legal holds and retention duties, the personal download, consent and restriction enforced
 * by the record guard, records of processing, retention by class.
 */
export {};
export { createPrivacyRequests, type Fulfilment, type OpenInput, type PrivacyRequests, type PrivacyRequestsDeps, type RequestDetail } from './requests.js';
export { createRectifications, type Rectifications, type RectificationDeps } from './requests-accept.js';
export { requestCallerOf } from './requests-caller.js';
export { requestMigrations } from './requests-migrations.js';
export { requestTextsSealed } from './requests-sealing.js';
export { privacyRequestRoutes, type PrivacyRequestRoutesDeps } from './requests-routes.js';
export { addCalendarMonths, daysLeft, firstDueAt, requestStageAt, requestStages, type RequestStage } from './requests-deadline.js';
export { changesFromForm, elementText, mergedElement, rectificationFields, type RectificationField } from './requests-rectification.js';
export { RequestError, type RequestErrorCode } from './requests-errors.js';
export {
  isRequestState,
  isRequestType,
  openStates,
  rectifiableElements,
  rectificationTag,
  requestChannels,
  requestStates,
  requestTypes,
  type PrivacyRequest,
  type ProposedChanges,
  type RequestCaller,
  type RequestChannel,
  type RequestHistoryEntry,
  type RequestState,
  type RequestTexts,
  type RequestType,
} from './requests-types.js';
export { createRopa, ropaDefaults, type Ropa, type RopaDeps, type RetentionRules } from './ropa.js';
export type { RopaDocument, RopaMeasure, RopaRecipient } from './ropa-document.js';
export { implicitRegions, postgresPlace, repositoryPlace, type RopaRegion } from './ropa-regions.js';
export { ropaSections, ropaTitle, type RopaLocale, type RopaSection } from './ropa-sections.js';
export { ropaMarkdown } from './ropa-markdown.js';
export { ropaPdf } from './ropa-pdf.js';
export { mayReadRopa, parseRopaFormat, parseRopaLocale, ropaEvent, ropaFormats, ropaRoutes, sendRopa, type RopaFormat } from './ropa-routes.js';
export { RopaError, type RopaErrorCode } from './ropa-errors.js';
export { createErasures, type EraseInput, type ErasureCheck, type ErasureDeps, type ErasureRecord, type Erasures, type RetentionDuty } from './erasure.js';
export { ErasureError, type ErasureErrorCode } from './erasure-errors.js';
export { privacyEvent, type PrivacyCaller } from './erasure-event.js';
export { erasureMigrations } from './erasure-migrations.js';
export { erasureRoutes, type ErasureRoutesDeps } from './erasure-routes.js';
export { checkSubject, createHolds, type Holds, type LegalHold } from './holds.js';
export { addYears, classOfType, legalBasis, retentionClasses, typesOfClass, type RetentionClass } from './retention-classes.js';
export { createRetentionSettings, type RetentionPeriods, type RetentionSettings } from './retention-settings.js';
export { createRetention, retentionJobActor, type ExpiringSubject, type Retention, type RetentionReport } from './retention.js';
export { downloadFulfilment, downloadSettlement, erasureFulfilment, restrictionFulfilment } from './fulfilments.js';
export { restrictionGroundFor } from './restriction-ground.js';
export { compartmentTypes, createPatientEverything, parseEverythingQuery, type EverythingPage, type EverythingQuery, type PatientEverything, type PatientEverythingDeps } from './everything.js';
export { createSubjectExports, exportFiles, ExportError, type ExportCaller, type ExportErrorCode, type ExportView, type SubjectAccount, type SubjectExports, type SubjectExportsDeps } from './exports.js';
export { callerOf, exportRoutes, type ExportRoutesDeps } from './exports-routes.js';
export { exportFilesSealed } from './exports-sealing.js';
export { decideConsent, appSystem, consentClasses, dataClassSystem, roleSystem, type ActiveConsent, type ConsentCaller, type ConsentDecision, type Provision } from './consent-decide.js';
export { parseConsent, isPrivacyConsent } from './consent-parse.js';
export { createConsentPolicies, type ConsentPoliciesDeps } from './consent-policies.js';
export { consentMigrations } from './consent-migrations.js';
export { restrictionMigrations } from './restriction-migrations.js';
export { createRestrictions, restrictionGrounds, type Restriction, type RestrictionCaller, type RestrictionGround, type Restrictions } from './restrictions.js';
export { PrivacyError, type PrivacyErrorCode } from './restriction-errors.js';
export { restrictionRoutes, type RestrictionRoutesDeps } from './restriction-routes.js';
export { createConsentWriter, type ConsentWriter, type ConsentWriterDeps } from './consent-writer.js';
