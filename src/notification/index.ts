/**
 * @module notification
 * Breach notification: who must be told, by when, and what they are told. From a breach scope
 * frozen into an incident: the affected people (read from their Patient records when asked,
 * never copied), the assessment under GDPR Art. 33/34, HIPAA 45 CFR 164.400–414 and PCI DSS
 * 12.10 with deadlines from the time of awareness, and the drafts a person approves before
 * anything is sent.
 */
export { contactOf, createAffectedPeople, noticeLanguages, residencyOf, type AffectedPeople, type AffectedPeopleDeps, type AffectedPerson, type NoticeLanguage, type Residency } from './people.js';
export { createIncidentDrill, drillDefaults, type DrillApi, type DrillContext, type DrillOptions, type DrillSlots, type DrillStepRun, type IncidentDrill, type IncidentDrillDeps } from './drill.js';
export { appendDrillReport, drillFormat, drillReportFileOf, readLastDrills, type DrillReport, type DrillStep } from './drill-report.js';
export { drillPlaces, syntheticPatient, syntheticPerson, type SyntheticPerson } from './drill-data.js';
export { injectedDrillApi, type Injector } from './drill-api.js';
export { registerIncidentDrillMetrics } from './drill-metrics.js';
export { drillSlots, testServerNotifier, type DrillSlotsDeps } from './drill-slots.js';
export { assess, dueAtOf, itemKey } from './assessment.js';
export { notificationRules } from './assessment-rules/index.js';
export { answers, platformRoles, regimes, type Answer, type AssessmentInput, type ComputedItem, type NotificationRule, type PlatformRole, type Regime } from './assessment-types.js';
export { createAssessments, type AssessmentSettings, type Assessments, type AssessmentsDeps, type AssessmentView, type ItemChange, type ItemView } from './assessments.js';
export { assessmentJson, assessmentRoutes, parseItemChange, type AssessmentRoutesDeps } from './assessment-routes.js';
export { countdown, deadlineStages, spanText, stageAt, type DeadlineStage } from './deadlines.js';
export { NotificationError, type NotificationErrorCode } from './errors.js';
export { composeAuthorityReport, composeCustomerNotice, composeLetter, composeMediaNotice, noticeKinds, tenantFacts, type NoticeDocument, type NoticeKind, type TenantFacts } from './drafts-compose.js';
export { createNoticeDrafts, noticeFormats, type DeliveryView, type GenerateInput, type NoticeDrafts, type NoticeDraftsDeps, type NoticeFormat, type Rendered, type RenderInput } from './drafts.js';
export { draftStates, deliveryChannels, type DeliveryRow, type DraftRow, type DraftState, type DeliveryChannel } from './drafts-store.js';
export type { SendTally } from './delivery.js';
export { freeTextFields, type FreeText } from './drafts-texts.js';
export { noticeDraftMigrations } from './drafts-migrations.js';
export { noticeDraftRoutes, type NoticeDraftRoutesDeps } from './drafts-routes.js';
export { noticePageCsp, renderHtml, renderHtmlBody, renderText } from './render.js';
export { renderPdf } from './pdf.js';
