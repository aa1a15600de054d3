import { createPdfWriter } from '../platform/pages/pdf-writer.js';
import type { NoticeDocument } from './drafts-compose.js';

const margin = 64;
const size = { title: 15, heading: 12, body: 11, leading: 1.4 } as const;

/**
 * Notices as one PDF, each starting on a new page (a print batch for the mail room: one letter,
 * its address in the window position, then the next).
 */
export async function renderPdf(docs: readonly NoticeDocument[]): Promise<Uint8Array> {
  const first = docs[0];
  const pdf = await createPdfWriter({ title: first === undefined ? '' : docs.length === 1 ? first.title : `${first.title} (+${docs.length - 1})`, margin, leading: size.leading });
  const { regular, bold } = pdf;
  for (const doc of docs) {
    pdf.newPage();
    if (doc.address !== null) {
      // DIN 5008 window position: the address block about 45 mm from the top.
      pdf.fromTop(128);
      for (const row of doc.address) pdf.wrap(row, regular, size.body);
      pdf.down(size.body * 3);
    }
    pdf.wrap(doc.title, bold, size.title);
    pdf.down(size.body);
    for (const block of doc.blocks) {
      if (block.heading !== null) {
        pdf.down(size.body * 0.4);
        pdf.wrap(block.heading, bold, size.heading);
      }
      for (const paragraph of block.paragraphs) {
        pdf.wrap(paragraph, regular, size.body);
        pdf.down(size.body * 0.5);
      }
      for (const item of block.items ?? []) pdf.wrap(`• ${item}`, regular, size.body, 10);
      if ((block.items ?? []).length > 0) pdf.down(size.body * 0.5);
    }
  }
  return pdf.save();
}
