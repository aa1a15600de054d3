import { html, type Html, type Locale, type Texts } from '../platform/pages/index.js';
import { ropaSections, type RopaDocument } from '../privacy/index.js';

type Key = 'intro' | 'download' | 'markdown' | 'json' | 'pdf';

const text: Texts<Key> = {
  en: { intro: 'Generated now from the data register, the permission matrix, the configuration and the running system; it is never edited by hand. The content is in English; download it to add what only you know.', download: 'Download', markdown: 'Markdown', json: 'JSON', pdf: 'PDF' },
  de: { intro: 'Jetzt erzeugt aus dem Datenregister, der Berechtigungsmatrix, der Konfiguration und dem laufenden System; es wird nie von Hand bearbeitet. Der Inhalt ist englisch; laden Sie es herunter, um zu ergänzen, was nur Sie wissen.', download: 'Herunterladen', markdown: 'Markdown', json: 'JSON', pdf: 'PDF' },
};

/**
 * The records of processing as a page body: download links (the API's URL, with the page's
 * language), then each section with its table. Headings follow the page's language; the
 * generated content is English (it names roles, settings and codes as Tresor spells them).
 */
export function ropaBody(doc: RopaDocument, locale: Locale, apiPath: string): Html {
  const t = text[locale];
  const link = (format: string, label: string) => html`<a href="${apiPath}?format=${format}&amp;lang=${locale}" download>${label}</a>`;
  return html`<p>${t.intro}</p>
<p>${t.download}: ${link('pdf', t.pdf)} · ${link('md', t.markdown)} · ${link('json', t.json)}</p>
${ropaSections(doc, locale).map(
  (section) => html`<section aria-labelledby="ropa-${section.id}"><h2 id="ropa-${section.id}">${section.heading}</h2>
${section.paragraphs.map((p) => html`<p>${p}</p>`)}
${
  section.table === undefined || section.table.rows.length === 0
    ? undefined
    : html`<table aria-labelledby="ropa-${section.id}">
<thead><tr>${section.table.head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${section.table.rows.map((row) => html`<tr>${row.map((c, i) => (i === 0 ? html`<th scope="row">${c}</th>` : html`<td>${c}</td>`))}</tr>`)}</tbody>
</table>`
}</section>`,
)}`;
}
