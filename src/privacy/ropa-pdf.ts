import type * as PdfLib from 'pdf-lib';
import { lazyRequire } from '../platform/lazy-require.js';
import type { RopaDocument } from './ropa-document.js';
import { ropaSections, ropaTitle, type RopaLocale } from './ropa-sections.js';

// Loaded at the first PDF, not at start-up (as notification/pdf.ts does).
const pdfLib = lazyRequire<typeof PdfLib>('pdf-lib');

const page = { width: 595.28, height: 841.89, margin: 56 } as const; // A4 in points
const size = { title: 15, heading: 12, body: 9.5, leading: 1.35 } as const;

/**
 * The records of processing as a PDF: the same sections as the Markdown, each table row as one
 * wrapped line of its cells. Standard Helvetica (WinAnsi): German headings need no embedded font;
 * a character WinAnsi lacks prints as "?".
 */
export async function ropaPdf(doc: RopaDocument, locale: RopaLocale = 'en'): Promise<Uint8Array> {
  const { PDFDocument, StandardFonts, rgb } = pdfLib();
  const pdf = await PDFDocument.create();
  const title = ropaTitle(doc, locale);
  pdf.setTitle(title);
  pdf.setCreator('Tresor');
  pdf.setProducer('Tresor');
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const known = new Set(regular.getCharacterSet());
  const printable = (text: string) => [...text.replace(/\s+/g, ' ')].map((c) => (known.has(c.codePointAt(0) ?? 0) ? c : '?')).join('');
  const width = page.width - 2 * page.margin;
  let current = pdf.addPage([page.width, page.height]);
  let y = page.height - page.margin;

  const line = (text: string, font: PdfLib.PDFFont, fontSize: number, indent = 0) => {
    let row = '';
    const flush = () => {
      if (y < page.margin + fontSize) {
        current = pdf.addPage([page.width, page.height]);
        y = page.height - page.margin;
      }
      current.drawText(row, { x: page.margin + indent, y, size: fontSize, font, color: rgb(0, 0, 0) });
      y -= fontSize * size.leading;
      row = '';
    };
    for (const word of printable(text).split(' ')) {
      const next = row === '' ? word : `${row} ${word}`;
      if (row !== '' && font.widthOfTextAtSize(next, fontSize) > width - indent) flush();
      row = row === '' ? word : `${row} ${word}`;
    }
    if (row !== '') flush();
  };

  line(title, bold, size.title);
  y -= size.body;
  for (const section of ropaSections(doc, locale)) {
    y -= size.body * 0.6;
    line(section.heading, bold, size.heading);
    for (const p of section.paragraphs) line(p, regular, size.body);
    if (section.table !== undefined && section.table.rows.length > 0) {
      const { head, rows } = section.table;
      for (const row of rows) line(row.map((value, i) => `${head[i] ?? ''}: ${value}`).join(' · '), regular, size.body, 8);
    }
  }
  // Without object streams: each page's content stream stands on its own (simple tools read it).
  return pdf.save({ useObjectStreams: false });
}
