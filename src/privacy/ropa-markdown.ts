import type { RopaDocument } from './ropa-document.js';
import { ropaSections, ropaTitle, type RopaLocale } from './ropa-sections.js';

// A cell never breaks the table: pipes escaped, line breaks flattened.
const cell = (value: string) => value.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The records of processing as Markdown (`tresor ropa --format md`, `?format=md`). */
export function ropaMarkdown(doc: RopaDocument, locale: RopaLocale = 'en'): string {
  const lines = [`# ${ropaTitle(doc, locale)}`, ''];
  for (const section of ropaSections(doc, locale)) {
    lines.push(`## ${section.heading}`, '');
    for (const p of section.paragraphs) lines.push(p, '');
    if (section.table !== undefined && section.table.rows.length > 0) {
      lines.push(`| ${section.table.head.join(' | ')} |`, `|${section.table.head.map(() => '---').join('|')}|`);
      for (const row of section.table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
