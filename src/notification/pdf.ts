import type * as PdfLib from 'pdf-lib';
import { lazyRequire } from '../platform/lazy-require.js';
import type { NoticeDocument } from './drafts-compose.js';

// Loaded at the first PDF, not at start-up: a server that never prints a letter never pays for it.
const pdfLib = lazyRequire<typeof PdfLib>('pdf-lib');

const page = { width: 595.28, height: 841.89, margin: 64 } as const; // A4 in points
const size = { title: 15, heading: 12, body: 11, leading: 1.4 } as const;

/**
 * Notices as one PDF, each starting on a new page (a print batch for the mail room: one letter,
 * its address in the window position, then the next). The standard Helvetica fonts with
 * WinAnsi encoding, so German text (ä, ö, ü, ß) needs no embedded font file; a character
 * WinAnsi lacks is printed as "?" rather than failing the batch.
 */
export async function renderPdf(docs: readonly NoticeDocument[]): Promise<Uint8Array> {
  const { PDFDocument, StandardFonts, rgb } = pdfLib();
  const pdf = await PDFDocument.create();
  pdf.setCreator('Tresor');
  pdf.setProducer('Tresor');
  const first = docs[0];
  if (first !== undefined) pdf.setTitle(docs.length === 1 ? first.title : `${first.title} (+${docs.length - 1})`);
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const known = new Set(regular.getCharacterSet());
  const printable = (text: string) => [...text.replace(/\s+/g, ' ')].map((c) => (known.has(c.codePointAt(0) ?? 0) ? c : '?')).join('');
  const width = page.width - 2 * page.margin;

  for (const doc of docs) {
    let current = pdf.addPage([page.width, page.height]);
    let y = page.height - page.margin;
    const line = (text: string, font: PdfLib.PDFFont, fontSize: number, indent = 0) => {
      const words = printable(text).split(' ');
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
      for (const word of words) {
        const next = row === '' ? word : `${row} ${word}`;
        if (row !== '' && font.widthOfTextAtSize(next, fontSize) > width - indent) flush();
        row = row === '' ? word : `${row} ${word}`;
      }
      if (row !== '') flush();
    };
    if (doc.address !== null) {
      // DIN 5008 window position: the address block about 45 mm from the top.
      y = page.height - 128;
      for (const row of doc.address) line(row, regular, size.body);
      y -= size.body * 3;
    }
    line(doc.title, bold, size.title);
    y -= size.body;
    for (const block of doc.blocks) {
      if (block.heading !== null) {
        y -= size.body * 0.4;
        line(block.heading, bold, size.heading);
      }
      for (const paragraph of block.paragraphs) {
        line(paragraph, regular, size.body);
        y -= size.body * 0.5;
      }
      for (const item of block.items ?? []) line(`• ${item}`, regular, size.body, 10);
      if ((block.items ?? []).length > 0) y -= size.body * 0.5;
    }
  }
  // Without object streams: each page's (deflated) content stream stands on its own, which
  // keeps the file readable by simple tools and by the tests' small reader.
  return pdf.save({ useObjectStreams: false });
}
