/**
 * @module incidents
 * The record of a security incident (NIST SP 800-61r2 §3) of the platform or of tenants:
 * severity, a forward-only state machine (triage → contained → eradicated → recovered →
 * closed, reopened with a reason), owner, awareness time, affected tenants, linked alerts, an
 * append-only timeline and tasks; customer updates mailed to each affected tenant's admins and
 * security contact; public updates handed to the status page through `publish`. Every change
 * is audited in the operators' trail and each affected tenant's.
 *
 * Breach scopes are frozen into an incident (computed by breach/, injected), append-only with
 * their hash, and verified against the trail later.
 *
 * It does not compute a breach's scope itself nor assess notification duties (breach/), nor render
 * the public status page (status/).
 */
export { createIncidents, visibleTo, type ChangeInput, type IncidentCaller, type Incidents, type IncidentsDeps, type OpenInput, type PublicUpdate, type TaskInput, type UpdateInput } from './incidents.js';
export { incidentRoutes, parseIncidentFilter, type IncidentRoutesDeps } from './routes.js';
export { incidentDetailJson, incidentJson } from './json.js';
export { incidentMigrations } from './migrations.js';
export { checkTransition, incidentStates, isIncidentState, type IncidentState } from './states.js';
export { checkPublicText, parseAlertRef, type AlertRef, type OwnerRef } from './validate.js';
export { clinicIncidentPath, operatorIncidentPath, updateMessage } from './update-message.js';
export { createFrozenScopes, tenantPartOf, type FrozenScopeCheck, type FrozenScopes, type FrozenScopesDeps, type FrozenScopeSummary, type TenantScopePart } from './frozen-scopes.js';
export { incidentScopeRoutes, type ScopeRoutesDeps } from './scope-routes.js';
export { routeCallers, type RouteCallers } from './route-callers.js';
export { callerEvent } from './caller-event.js';
export { IncidentError, type IncidentErrorCode } from './errors.js';
export type { Delivery, EntryKind, Incident, IncidentDetail, LinkedAlert, Task, TimelineEntry, Visibility } from './types.js';
