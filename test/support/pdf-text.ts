import { inflateSync } from 'node:zlib';

/**
 * The text of a PDF as pdf-lib writes it (notification/pdf.ts): each page's content stream
 * inflated, the hex strings of its `Tj` operators decoded as WinAnsi. Not a PDF parser — enough
 * to check what a letter says without a PDF library or poppler. One string per page.
 */
export function pdfPages(bytes: Uint8Array): string[] {
  const file = Buffer.from(bytes).toString('latin1');
  const pages: string[] = [];
  const streams = /stream\r?\n([\s\S]*?)\r?\nendstream/g;
  for (let m = streams.exec(file); m !== null; m = streams.exec(file)) {
    let content: string;
    try {
      content = inflateSync(Buffer.from(m[1] ?? '', 'latin1')).toString('latin1');
    } catch {
      continue;
    }
    const shown = [...content.matchAll(/<([0-9A-Fa-f]*)> Tj/g)].map((s) => winAnsi(Buffer.from(s[1] ?? '', 'hex')));
    if (shown.length > 0) pages.push(shown.join('\n'));
  }
  return pages;
}

// WinAnsi is Latin-1 except 0x80–0x9F; the few of those a notice uses.
const high: Record<number, string> = { 0x80: '€', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—' };
const winAnsi = (bytes: Buffer): string => [...bytes].map((b) => high[b] ?? String.fromCharCode(b)).join('');
