import type { StatusEntry } from './types.js';

const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
const kindLabel = { incident: 'Incident', maintenance: 'Maintenance', notice: 'Security notice' } as const;

export interface FeedInput {
  readonly title: string;
  /** The status page's absolute URL. */
  readonly pageUrl: string;
  readonly entries: readonly StatusEntry[];
  /** When the feed changed last (also for an empty feed). */
  readonly updatedAt: number;
}

/** An entry's text as one block: the newest update first, each with its time and status. */
function entryText(e: StatusEntry): string {
  const updates = e.updates.map((u) => `${new Date(u.at).toISOString()} — ${u.status}: ${u.text}`);
  return [e.text, ...updates].filter((t) => t !== '').join('\n\n');
}

/** Atom 1.0 (RFC 4287): a feed with id, title, updated and an author; each entry id, title, updated, link, content. */
export function atomFeed(input: FeedInput): string {
  const entries = input.entries.map(
    (e) => `<entry><id>${escapeXml(`${input.pageUrl}#${e.id}`)}</id><title>${escapeXml(`${kindLabel[e.kind]}: ${e.title} (${e.status})`)}</title><updated>${new Date(e.updatedAt).toISOString()}</updated><published>${new Date(e.createdAt).toISOString()}</published><link rel="alternate" type="text/html" href="${escapeXml(`${input.pageUrl}#${e.id}`)}"/><category term="${e.kind}"/><content type="text">${escapeXml(entryText(e))}</content></entry>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>${escapeXml(input.pageUrl)}</id><title>${escapeXml(input.title)}</title><updated>${new Date(input.updatedAt).toISOString()}</updated><author><name>${escapeXml(input.title)}</name></author><link rel="alternate" type="text/html" href="${escapeXml(input.pageUrl)}"/><link rel="self" type="application/atom+xml" href="${escapeXml(`${input.pageUrl}/feed.atom`)}"/>${entries.join('')}</feed>
`;
}

/** RSS 2.0: channel title, link, description; items with a stable guid and an RFC 822 date. */
export function rssFeed(input: FeedInput): string {
  const items = input.entries.map(
    (e) => `<item><title>${escapeXml(`${kindLabel[e.kind]}: ${e.title} (${e.status})`)}</title><link>${escapeXml(`${input.pageUrl}#${e.id}`)}</link><guid isPermaLink="false">${escapeXml(`${e.id}@${e.updatedAt}`)}</guid><pubDate>${new Date(e.updatedAt).toUTCString()}</pubDate><category>${e.kind}</category><description>${escapeXml(entryText(e))}</description></item>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>${escapeXml(input.title)}</title><link>${escapeXml(input.pageUrl)}</link><description>${escapeXml(`${input.title}: incidents, maintenance and security notices`)}</description><lastBuildDate>${new Date(input.updatedAt).toUTCString()}</lastBuildDate>${items.join('')}</channel></rss>
`;
}
