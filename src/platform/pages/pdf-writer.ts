import type * as PdfLib from 'pdf-lib';
import { lazyRequire } from '../lazy-require.js';

// Loaded at the first PDF, not at start-up: a server that never prints one never pays for it.
const pdfLib = lazyRequire<typeof PdfLib>('pdf-lib');

/** A4 in points. */
export const a4 = { width: 595.28, height: 841.89 } as const;

/**
 * Text flowing down A4 pages — the one PDF layout Tresor's documents share (breach letters,
 * records of processing, a patient's summary). The standard Helvetica fonts with WinAnsi
 * encoding, so German text (ä, ö, ü, ß) needs no embedded font file; a character WinAnsi lacks
 * prints as "?" rather than failing the document. Saved without object streams: each page's
 * content stream stands on its own, readable by simple tools (pdftotext, the tests' reader).
 */
export interface PdfWriter {
  readonly regular: PdfLib.PDFFont;
  readonly bold: PdfLib.PDFFont;
  /** The width text may take between the margins. */
  readonly textWidth: number;
  /** Starts a new page, at its top margin. */
  newPage(): void;
  /** Moves down (a gap between blocks). */
  down(points: number): void;
  /** Puts the next line this far below the page's top edge (an address in the window position). */
  fromTop(points: number): void;
  /** A new page first unless `needed` points are left above the bottom margin. */
  room(needed: number): void;
  /** Text wrapped at word boundaries over as many lines as it needs, each `size × leading` below the last. */
  wrap(text: string, font: PdfLib.PDFFont, size: number, indent?: number): void;
  /** One line of cells at the current height, each cut with "..." to its width (fractions of the text width). */
  row(cells: readonly string[], widths: readonly number[], font: PdfLib.PDFFont, size: number, lineHeight: number): void;
  save(): Promise<Uint8Array>;
}

export async function createPdfWriter({ title, margin, leading }: { readonly title: string; readonly margin: number; readonly leading: number }): Promise<PdfWriter> {
  const { PDFDocument, StandardFonts, rgb } = pdfLib();
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  pdf.setCreator('Tresor');
  pdf.setProducer('Tresor');
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const known = new Set(regular.getCharacterSet());
  const printable = (text: string) => [...text.replace(/\s+/g, ' ')].map((c) => (known.has(c.codePointAt(0) ?? 0) ? c : '?')).join('');
  const textWidth = a4.width - 2 * margin;
  let current: PdfLib.PDFPage | undefined;
  let y = a4.height - margin;
  const page = (): PdfLib.PDFPage => {
    if (current === undefined) writer.newPage();
    return current as PdfLib.PDFPage;
  };
  const draw = (text: string, x: number, font: PdfLib.PDFFont, size: number) => page().drawText(text, { x, y, size, font, color: rgb(0, 0, 0) });
  const fit = (text: string, font: PdfLib.PDFFont, size: number, width: number) => {
    let out = printable(text);
    if (font.widthOfTextAtSize(out, size) <= width) return out;
    while (out.length > 1 && font.widthOfTextAtSize(`${out}...`, size) > width) out = out.slice(0, -1);
    return `${out}...`;
  };

  const writer: PdfWriter = {
    regular,
    bold,
    textWidth,
    newPage() {
      current = pdf.addPage([a4.width, a4.height]);
      y = a4.height - margin;
    },
    down(points) {
      y -= points;
    },
    fromTop(points) {
      page();
      y = a4.height - points;
    },
    room(needed) {
      if (current === undefined || y - needed < margin) writer.newPage();
    },
    wrap(text, font, size, indent = 0) {
      let line = '';
      const flush = () => {
        if (current === undefined || y < margin + size) writer.newPage();
        draw(line, margin + indent, font, size);
        y -= size * leading;
        line = '';
      };
      for (const word of printable(text).split(' ')) {
        const next = line === '' ? word : `${line} ${word}`;
        if (line !== '' && font.widthOfTextAtSize(next, size) > textWidth - indent) flush();
        line = line === '' ? word : `${line} ${word}`;
      }
      if (line !== '') flush();
    },
    row(cells, widths, font, size, lineHeight) {
      writer.room(lineHeight);
      let x = margin;
      cells.forEach((cell, i) => {
        const width = (widths[i] ?? 0.25) * textWidth;
        draw(fit(cell, font, size, width - 6), x, font, size);
        x += width;
      });
      y -= lineHeight;
    },
    save: () => pdf.save({ useObjectStreams: false }),
  };
  return writer;
}
