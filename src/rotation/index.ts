/**
 * @module rotation
 * Key rotation without downtime: `start` makes a new master version or tenant key generation
 * current at once; a resumable job (cursor and lease in the key store) re-encrypts stored data
 * or re-wraps tenant keys onto it, raises the tenant's key floor, and retires old versions when
 * nothing references them. Progress in /metrics. Uses keys (the hierarchy) and records (the
 * stored envelopes); holds no keys itself.
 */
export { createRotation, defaultRotationOptions, type Rotation, type RotationDeps, type RotationEvent, type RotationOptions, type SealedElsewhere } from './rotation.js';
export { registerRotationMetrics } from './metrics.js';
export { rotationMigrations } from './migrations.js';
export { RotationError, type RotationErrorCode } from './errors.js';
export type { RotationJob, RotationPhase, RotationScope } from './store.js';
export { keyStatus, rotationProgress, type KeyStatus } from './status.js';
