import { html, type Html } from './html.js';

/**
 * A small Markdown subset for documents we ship (the runbooks): `#` headings, paragraphs,
 * `-`/`*` and `1.` lists, `inline code`, **strong** and [links](target). Everything is built
 * with `html`, so every character of the source is escaped by construction (OWASP ASVS 5
 * V1.2.1): raw HTML in the source shows as text, never as markup. Links go only where
 * `link` allows (else their text stays, without a link).
 */
export interface MarkdownOptions {
  /** The href for a link target, or undefined to render the text alone. */
  readonly link?: (target: string) => string | undefined;
  /** The first heading level used for `#` (a page whose `<h1>` is its title starts at 2). */
  readonly topLevel?: number;
}

/** Targets a shipped document may link to: web addresses, paths of this site, anchors. */
export function safeHref(target: string): string | undefined {
  if (/^https?:\/\/[^\s<>"']+$/i.test(target)) return target;
  if (/^\/[^\s<>"'/\\][^\s<>"'\\]*$/.test(target) || target === '/') return target;
  if (/^#[\w-]+$/.test(target)) return target;
  return undefined;
}

/** Inline markup of one line of text: code spans first (their content is literal), then links and strong. */
export function renderInline(source: string, link: (target: string) => string | undefined = safeHref): Html {
  const parts: Html[] = [];
  const pattern = /`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (const match of source.matchAll(pattern)) {
    const at = match.index;
    if (at > last) parts.push(html`${source.slice(last, at)}`);
    if (match[1] !== undefined) parts.push(html`<code>${match[1]}</code>`);
    else if (match[2] !== undefined) {
      const href = link(match[3] as string);
      const label = renderInline(match[2], () => undefined);
      parts.push(href === undefined ? label : html`<a href="${href}">${label}</a>`);
    } else parts.push(html`<strong>${renderInline(match[4] as string, link)}</strong>`);
    last = at + match[0].length;
  }
  if (last < source.length) parts.push(html`${source.slice(last)}`);
  return html`${parts}`;
}

type Block = { kind: 'heading'; level: number; text: string } | { kind: 'paragraph'; lines: string[] } | { kind: 'list'; ordered: boolean; items: string[] };

function blocks(source: string): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  const close = () => {
    if (current !== undefined) out.push(current);
    current = undefined;
  };
  for (const rawLine of source.replace(/\r\n?/g, '\n').split('\n')) {
    const line = rawLine.trimEnd();
    if (line.trim() === '') {
      close();
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading !== null) {
      close();
      out.push({ kind: 'heading', level: (heading[1] as string).length, text: (heading[2] as string).replace(/\s+#+\s*$/, '') });
      continue;
    }
    const bullet = /^\s{0,3}[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s{0,3}\d{1,3}[.)]\s+(.*)$/.exec(line);
    const item = bullet ?? numbered;
    if (item !== null) {
      const ordered = numbered !== null && bullet === null;
      if (current?.kind !== 'list' || current.ordered !== ordered) {
        close();
        current = { kind: 'list', ordered, items: [] };
      }
      current.items.push(item[1] as string);
      continue;
    }
    // A continuation: an indented line goes on with the list item, any other with the paragraph.
    if (current?.kind === 'list' && /^\s+/.test(line)) {
      current.items[current.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    if (current?.kind !== 'paragraph') {
      close();
      current = { kind: 'paragraph', lines: [] };
    }
    current.lines.push(line.trim());
  }
  close();
  return out;
}

/** The document's first `# ` heading, if any (a page's title). */
export function markdownTitle(source: string): string | undefined {
  const first = blocks(source).find((b) => b.kind === 'heading' && b.level === 1);
  return first?.kind === 'heading' ? first.text : undefined;
}

/** Renders the subset; with `skipTitle`, the first `# ` heading is left out (the page shows it as its title). */
export function renderMarkdown(source: string, options: MarkdownOptions & { readonly skipTitle?: boolean } = {}): Html {
  const link = options.link ?? safeHref;
  const shift = (options.topLevel ?? 1) - 1;
  let skipped = options.skipTitle !== true;
  const parts: Html[] = [];
  for (const block of blocks(source)) {
    if (block.kind === 'heading') {
      if (!skipped && block.level === 1) {
        skipped = true;
        continue;
      }
      const level = Math.min(6, block.level + shift);
      const inner = renderInline(block.text, link);
      // The level is a number we computed, never source text.
      parts.push(level === 1 ? html`<h1>${inner}</h1>` : level === 2 ? html`<h2>${inner}</h2>` : level === 3 ? html`<h3>${inner}</h3>` : level === 4 ? html`<h4>${inner}</h4>` : level === 5 ? html`<h5>${inner}</h5>` : html`<h6>${inner}</h6>`);
    } else if (block.kind === 'paragraph') {
      parts.push(html`<p>${renderInline(block.lines.join(' '), link)}</p>`);
    } else {
      const items = block.items.map((item) => html`<li>${renderInline(item, link)}</li>`);
      parts.push(block.ordered ? html`<ol>${items}</ol>` : html`<ul>${items}</ul>`);
    }
  }
  return html`${parts.map((p) => html`${p}\n`)}`;
}
