/**
 * @module detection
 * Tresor watching its own audit trail (SPEC L2–L4): an engine that reads every realm's chain
 * after a durable cursor, off the request path, and runs the rules over it — each rule a plain
 * object in `rules/` (id, severity, description, thresholds, one pure function); alerts stored
 * in the realm's data set, deduplicated, linked to their events, acknowledged and resolved by
 * people; probes for what the trail cannot show (backups, disks, certificates, files).
 *
 *   audit chain ──► engine ──► rules (pure) ──► alerts ──► delivery (mail, webhooks, syslog)
 *        ▲            │ cursor + state in the realm's data set        └─► escalation
 *        └── requests append; they never wait for the engine
 */
export { createAlerts, type AlertActor, type AlertChange, type AlertDetail, type Alerts, type AlertsDeps } from './alerts.js';
export { createEngineThread, type EngineThreadDeps } from './engine-thread.js';
export { createEngine, ruleConfigs, type Engine, type EngineDeps, type EngineMetrics, type Raised } from './engine.js';
export { defaultAlertSettings, localTime, parseAlertSettings, withinQuietHours, withinWorkingHours, type AlertSettings } from './alert-settings.js';
export { alertLink, alertPayload, type AlertPayload } from './alert-payload.js';
export { alertPath, escalatedAlertPath, runbookPath } from './links.js';
export { createEscalatedAlerts, type EscalatedAlerts, type EscalatedAlertsDeps, type EscalatedDetail, type EscalatedRecord, type EscalatedView } from './escalated.js';
export { currentAlert, escalatedRoutes, levelsReached, nextEscalatedBefore, parseEscalatedFilter, recordDetailRead, type EscalatedRoutesDeps } from './escalated-routes.js';
export { alertSyslogFrame, syslogSeverity } from './alert-syslog.js';
export { webhookMigrations } from './webhook-migrations.js';
export { selectEndpoints } from './webhook-store.js';
export { webhookRoutes } from './webhook-routes.js';
export { createWebhookSend, type SendOutcome, type WebhookSend } from './webhook-send.js';
export { replayWindowSeconds, signWebhook, verifyWebhook } from './webhook-signature.js';
export { createAlertDelivery, syslogTarget, type AlertDelivery, type AlertDeliveryDeps, type WebhookDeliveryView, type WebhookEndpoint } from './webhooks.js';
export { DetectionError, type DetectionErrorCode } from './errors.js';
export { alertMessage, type AlertMailInput, type Recipient } from './alert-message.js';
export { createEscalation, type Escalation, type EscalationDeps } from './escalation.js';
export { escalationMigrations } from './escalation-migrations.js';
export { levels as escalationLevels, planStep, type EscalationPolicy, type Plan } from './escalation-policy.js';
export { registerDetectionMetrics } from './metrics.js';
export { registerDeliveryMetrics, type AttemptOutcome, type DeliveryMetrics } from './delivery-metrics.js';
export { platformReader, runProbes, type PlatformSources } from './probes.js';
export type { PlatformReading } from './platform-reading.js';
export { rules } from './rules/index.js';
export { rulesMarkdown } from './rules-table.js';
export { admitOperator, admitTenant, alertDetailJson, alertJson, alertRoutes, attemptAs, nextPageBefore, parseAlertFilter, refOf, type Admitted, type AlertAct, type AlertRoutesDeps } from './routes.js';
export { fimChanged, type FimReading } from './rules/fim-changed.js';
export { alertStates, detectionMigrations, type Alert, type AlertFilter, type AlertState } from './store.js';
export { severities, severityRank, type DetectionEvent, type EventRule, type Finding, type ProbeRule, type RealmContext, type Rule, type RuleConfig, type Severity } from './types.js';
