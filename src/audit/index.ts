/**
 * @module audit
 * The tamper-evident audit trail: every data access becomes an event (actor, action, resources,
 * patients, data classes, purpose, outcome) appended to a per-tenant SHA-256 hash chain in the
 * tenant's data set — in the same transaction as a change, and durably before a read is
 * answered. `verify` re-computes the chain and locates edits, deletions, insertions, reordering
 * and truncation. Never holds record contents, keys or tokens.
 */
export { createAudit, type Audit, type AuditDeps, type PruneResult, type Shipping } from './audit.js';
export { jsonLinesSink, syslogSink, syslogTransport, type AuditSink } from './sinks.js';
export { auditActions, purposesOfUse, canonical, chainHash, genesis, operatorEvent, type Actor, type AuditAction, type AuditEvent, type AuditEventInput, type AuditOutcome, type PurposeOfUse } from './events.js';
export { auditMigrations } from './migrations.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export type { Finding, VerifyReport, Anchor } from './verify.js';
export { verifyFailedEvent } from './verify.js';
export { verifyRestoredChain, type ChainReport } from './history.js';
export type { Checkpoint } from './checkpoints.js';
export { checkpointFile } from './checkpoints.js';
export { countPurposesSince, selectEventsAfter, selectEventsBySeq, selectEventsToEvaluate, selectHead, type StoredEvent, type EventFilter } from './store.js';
export { auditEventJson } from './event-json.js';
export { buildAuditEvent, objectEntity, patientEntity, toAuditEvent, type AuditAgentParts, type AuditEventParts } from './fhir.js';
export { createEmergencyReview, parseReview, reviewedRef, reviewVerdicts, type EmergencyReview, type ReviewVerdict, type SignOff } from './review.js';
