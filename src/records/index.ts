/**
 * @module records
 * Patients' records over a FHIR R4 REST subset: create, read, vread, update (If-Match), soft
 * delete with history, search on indexed parameters, batch and atomic transaction Bundles,
 * validation against the official R4 schema plus local reference checks. Stores resources in
 * the tenant's own data set, each personal and health element sealed under its patient's data key
 * (the data register decides which), and re-encrypts stored rows for a key rotation. Does not
 * authenticate (identity) or hold keys (keys).
 */
export { createRecords, type CompartmentPage, type Records, type RecordsDeps, type StoredResource } from './records.js';
export { createBundleProcessor, type BundleProcessor } from './bundles.js';
export { createFhirValidator, warmFhirValidator, type FhirValidator } from './fhir/validate.js';
export { auditApiRoutes, fhirRoutes, parseAuditFilter, type AuditApiDeps, type EverythingOperation, type FhirRoutesDeps } from './routes.js';
export {
  accessEvent,
  actorOf,
  breakGlassReason,
  createRecordAccess,
  defaultPurpose,
  type AccessContext,
  type AccessEntry,
  type AccessLog,
  type AccessWho,
  type ActorDirectory,
  type EventContext,
  type RecordAccess,
} from './access.js';
export { recordsMigrations } from './migrations.js';
export { countLiveResources } from './store.js';
export { resourceTypes, supportedTypes } from './resource-types.js';
export { RecordError, type RecordErrorCode } from './errors.js';
export { operationOutcome } from './fhir/operation-outcome.js';
export { classify, dataRegister, fieldEncryptionEnforced, isEncrypted, platformRegister, protectionOf, registerRows, registerVersion, type DataClass } from './data-register.js';
export { fieldEncryption, type FieldSealer, type SealContext, type SealedVersion } from './sealing.js';
export { createResealer, type Resealer, type ResealCursor, type ResealStep } from './reseal.js';
export { openSealedSamples, type SealedSampleReport } from './sealed-samples.js';
export { PolicyRefusal, redactedTag, restrictedTag, type PolicyCaller, type PolicyDecision, type PolicyEffect, type SubjectPolicies, type SubjectRules } from './guard.js';
