import { createHash } from 'node:crypto';
import { html, raw, type Html } from '../platform/pages/index.js';
import type { NoticeDocument } from './drafts-compose.js';

/** A notice as plain text: for the mail's text part and for `?format=text`. */
export function renderText(doc: NoticeDocument): string {
  const out: string[] = [];
  if (doc.address !== null) out.push(...doc.address, '');
  out.push(doc.title, '');
  for (const block of doc.blocks) {
    if (block.heading !== null) out.push(block.heading, '-'.repeat(Math.min(60, block.heading.length)));
    for (const p of block.paragraphs) out.push(p, '');
    if (block.items !== undefined && block.items.length > 0) out.push(...block.items.map((i) => `- ${i}`), '');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

// Our own constant style sheet: a standalone page has no layout to borrow one from, and a
// printed letter needs none from anyone else (no third-party assets). Served, the page's CSP
// allows exactly this style element by its hash (CSP Level 3 `'sha256-…'`), nothing else.
const styleText = `
body{font:12pt/1.5 Georgia,"Times New Roman",serif;color:#111;max-width:40em;margin:2em auto;padding:0 1em}
h1{font-size:1.3em;margin:1.5em 0 1em}h2{font-size:1.05em;margin:1.4em 0 .3em}
.address{margin:0 0 2em;white-space:pre-line}
.next{break-before:page;margin-top:3em}
@media print{body{margin:0;max-width:none}a{color:inherit}}
`;
const style = raw(`<style>${styleText}</style>`);

/** The Content-Security-Policy of a served notice page: no script, no fetch, no frame, only its own style element. */
export const noticePageCsp = `default-src 'none'; style-src '${`sha256-${createHash('sha256').update(styleText, 'utf8').digest('base64')}`}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/**
 * The body of a notice as HTML, escaped by construction (for a mail's HTML part, the printable
 * page, and the console's preview — where the page has its own `h1`, so the notice starts at `level`).
 */
export function renderHtmlBody(doc: NoticeDocument, level: 1 | 2 | 3 = 1): Html {
  const title = raw(`h${level}`);
  const heading = raw(`h${level + 1}`);
  return html`${doc.address === null ? '' : html`<p class="address">${doc.address.join('\n')}</p>`}
<${title}>${doc.title}</${title}>
${doc.blocks.map(
  (block) => html`${block.heading === null ? '' : html`<${heading}>${block.heading}</${heading}>`}
${block.paragraphs.map((p) => html`<p>${p}</p>`)}${block.items === undefined || block.items.length === 0 ? '' : html`<ul>${block.items.map((i) => html`<li>${i}</li>`)}</ul>`}`,
)}`;
}

/** A standalone, printable HTML page of one or more notices (a page break between them). */
export function renderHtml(docs: readonly NoticeDocument[]): string {
  const first = docs[0];
  const pages = docs.map((doc, i) => html`<article lang="${doc.language}"${i === 0 ? '' : raw(' class="next"')}>${renderHtmlBody(doc)}</article>`);
  return html`<!doctype html>
<html lang="${first?.language ?? 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${first?.title ?? ''}</title>${style}</head>
<body>${pages}</body></html>`.toString();
}
