/**
 * @module notification
 * Breach notification: who must be told, by when, and what they are told. From a breach scope
 * frozen into an incident: the affected people (read from their Patient records when asked,
 * never copied), the assessment under GDPR Art. 33/34, HIPAA 45 CFR 164.400–414 and PCI DSS
 * 12.10 with deadlines from the time of awareness, and the drafts a person approves before
 * anything is sent.
 */
export { contactOf, createAffectedPeople, noticeLanguages, residencyOf, type AffectedPeople, type AffectedPeopleDeps, type AffectedPerson, type NoticeLanguage, type Residency } from './people.js';
export { composeAuthorityReport, composeCustomerNotice, composeLetter, composeMediaNotice, noticeKinds, tenantFacts, type NoticeDocument, type NoticeKind, type TenantFacts } from './drafts-compose.js';
export { createNoticeDrafts, noticeFormats, type DeliveryView, type GenerateInput, type NoticeDrafts, type NoticeDraftsDeps, type NoticeFormat, type Rendered, type RenderInput } from './drafts.js';
export { draftStates, deliveryChannels, type DeliveryRow, type DraftRow, type DraftState, type DeliveryChannel } from './drafts-store.js';
export type { SendTally } from './delivery.js';
export { freeTextFields, type FreeText } from './drafts-texts.js';
export { noticeDraftMigrations } from './drafts-migrations.js';
export { noticeDraftRoutes, type NoticeDraftRoutesDeps } from './drafts-routes.js';
export { NotificationError, type NotificationErrorCode } from './errors.js';
export { renderHtml, renderHtmlBody, renderText } from './render.js';
export { renderPdf } from './pdf.js';
