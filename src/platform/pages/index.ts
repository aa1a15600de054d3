/**
 * @module platform/pages
 * What every page for people is built from, with no domain knowledge: HTML escaped by
 * construction, the one layout, English and German texts and dates, the stylesheet and scripts
 * served from this origin, the strict CSP, form parsing and error pages. The pages themselves
 * (landing, account, consoles, portal) live in the console module and the oauth module.
 */
export { Html, escapeHtml, html, raw, type HtmlValue } from './html.js';
export { defaultLocale, formatDate, formatDateTime, formatNumber, isLocale, localeCookieHeader, localeOf, locales, negotiateLocale, type Locale, type Texts } from './i18n.js';
export { layout, type LayoutInput, type NavItem } from './layout.js';
export { niceTicks, timeSeriesChart, type ChartInput, type ChartPoint } from './chart.js';
export { assetRoutes, stylesheet, type Scripts } from './assets.js';
export { passkeySignInPath } from './passkey-sign-in.js';
export { markdownTitle, renderInline, renderMarkdown, safeHref, type MarkdownOptions } from './markdown.js';
export { base64url } from './base64url-script.js';
export { formLimit, messagePage, pageCsp, scriptPageCsp, seeOther, sendPage, servePages } from './page-http.js';
