import { createPdfWriter } from '../platform/pages/pdf-writer.js';
import type { RopaDocument } from './ropa-document.js';
import { ropaSections, ropaTitle, type RopaLocale } from './ropa-sections.js';

const size = { title: 15, heading: 12, body: 9.5, leading: 1.35 } as const;

/** The records of processing as a PDF: the same sections as the Markdown, each table row as one wrapped line of its cells. */
export async function ropaPdf(doc: RopaDocument, locale: RopaLocale = 'en'): Promise<Uint8Array> {
  const title = ropaTitle(doc, locale);
  const pdf = await createPdfWriter({ title, margin: 56, leading: size.leading });
  const { regular, bold } = pdf;
  pdf.wrap(title, bold, size.title);
  pdf.down(size.body);
  for (const section of ropaSections(doc, locale)) {
    pdf.down(size.body * 0.6);
    pdf.wrap(section.heading, bold, size.heading);
    for (const p of section.paragraphs) pdf.wrap(p, regular, size.body);
    if (section.table !== undefined && section.table.rows.length > 0) {
      const { head, rows } = section.table;
      for (const row of rows) pdf.wrap(row.map((value, i) => `${head[i] ?? ''}: ${value}`).join(' · '), regular, size.body, 8);
    }
  }
  return pdf.save();
}
