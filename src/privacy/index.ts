/**
 * Privacy by the book (GDPR Art. 12–21, 30; ISO/IEC 27701): requests from data subjects, erasure
 * with legal holds and retention duties, the personal download, consent and restriction enforced
 * by the record guard, records of processing, retention by class.
 */
export { compartmentTypes, createPatientEverything, parseEverythingQuery, type EverythingPage, type EverythingQuery, type PatientEverything, type PatientEverythingDeps } from './everything.js';
export { createSubjectExports, exportFiles, ExportError, type ExportCaller, type ExportErrorCode, type ExportView, type SubjectAccount, type SubjectExports, type SubjectExportsDeps } from './exports.js';
export { callerOf, exportRoutes, type ExportRoutesDeps } from './exports-routes.js';
