/**
 * Privacy by the book (GDPR Art. 12–21, 30; ISO/IEC 27701): requests from data subjects, erasure
 * with legal holds and retention duties, the personal download, consent and restriction enforced
 * by the record guard, records of processing, retention by class.
 */
export {};
export { createRopa, ropaDefaults, type Ropa, type RopaDeps, type RetentionRules } from './ropa.js';
export type { RopaDocument, RopaMeasure, RopaRecipient } from './ropa-document.js';
export { implicitRegions, type RopaRegion } from './ropa-regions.js';
export { ropaSections, ropaTitle, type RopaLocale, type RopaSection } from './ropa-sections.js';
export { ropaMarkdown } from './ropa-markdown.js';
export { ropaPdf } from './ropa-pdf.js';
export { mayReadRopa, parseRopaFormat, parseRopaLocale, ropaEvent, ropaFormats, ropaRoutes, sendRopa, type RopaFormat } from './ropa-routes.js';
export { RopaError, type RopaErrorCode } from './ropa-errors.js';
