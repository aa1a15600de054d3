/**
 * @module status
 * The public status page (`/status`): each component's state derived from health checks (and
 * the detection probe's rules), overridable by an operator; 90 days of uptime from stored probe
 * samples; incidents' public updates, scheduled maintenance and security notices; the
 * Statuspage-shaped JSON and Atom/RSS feeds; `/.well-known/security.txt` (RFC 9116). Everything
 * public is rendered from a snapshot in memory and on disk, so it answers while the database
 * does not. It does not run incidents (the incidents module publishes through
 * `publishIncidentUpdate`) and never shows a tenant or a patient.
 */
import type { IncidentUpdate } from './status.js';

export { createStatus, incidentStatusOf, type EntryInput, type IncidentUpdate, type StatusActor, type StatusDeps, type StatusService } from './status.js';
export { createStatusStore, type StatusStore } from './store.js';
/** How the incidents module publishes an update: `tresor.status.publishIncidentUpdate` (app.ts) has this type. */
export type PublishIncidentUpdate = (update: IncidentUpdate) => Promise<void>;
export { statusRoutes, type StatusRoutesDeps } from './routes.js';
export { componentChecks, createHealthReader, type HealthSources } from './health.js';
export { StatusError, type StatusErrorCode } from './errors.js';
export { securityTxt, type SecurityTxtSettings } from './security-txt.js';
export { componentIds, componentStates, type ComponentId, type ComponentState, type StatusEntry, type StatusSnapshot } from './types.js';
export { componentNames } from './summary.js';
