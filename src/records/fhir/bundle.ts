import { randomUUID } from 'node:crypto';
import type { HistoryEntry, SearchResult } from '../records.js';
import { formatCursor } from '../search/cursor.js';

/**
 * Bundles are assembled as text around the stored JSON of each resource, which is never
 * parsed again on the way out: the bytes a client reads are the bytes that were validated.
 */
function envelope(type: string, now: Date, fields: string, entries: readonly string[]): string {
  return `{"resourceType":"Bundle","id":"${randomUUID()}","meta":{"lastUpdated":"${now.toISOString()}"},"type":"${type}"${fields},"entry":[${entries.join(',')}]}`;
}

function queryString(params: ReadonlyArray<readonly [string, string]>): string {
  return new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])).toString();
}

export function searchsetBundle(baseUrl: string, type: string, result: SearchResult, now: Date): string {
  const { query } = result;
  const url = (position: readonly [string, string]) => `${baseUrl}/${type}?${queryString([...query.applied, ['_count', String(query.count)], position])}`;
  const page = (offset: number) => url(['_offset', String(offset)]);
  const links = [{ relation: 'self', url: query.cursor === undefined ? page(query.offset) : url(['_cursor', formatCursor(query.cursor)]) }];
  // Keyset paging where the order allows it: the next page starts after this one's last record
  // and costs the same however deep it is. Several sort keys page by offset.
  if (result.hasMore) links.push({ relation: 'next', url: result.next === undefined ? page(query.offset + query.count) : url(['_cursor', formatCursor(result.next)]) });
  if (query.offset > 0) links.push({ relation: 'previous', url: page(Math.max(0, query.offset - query.count)) });
  const fields = `${result.total === undefined ? '' : `,"total":${result.total}`},"link":${JSON.stringify(links)}`;
  const entries = result.matches.map((m) => `{"fullUrl":${JSON.stringify(`${baseUrl}/${type}/${m.id}`)},"resource":${m.content},"search":{"mode":"match"}}`);
  // R4 §3.1.1.5.6: an OperationOutcome entry (search mode `outcome`) tells the reader what the page leaves out and why.
  if (result.withheld !== undefined && result.withheld > 0) entries.push(`{"resource":${JSON.stringify(withheldOutcome(result.withheld))},"search":{"mode":"outcome"}}`);
  return envelope('searchset', now, fields, entries);
}

const withheldOutcome = (count: number) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'information', code: 'suppressed', details: { text: `${count} ${count === 1 ? 'match' : 'matches'} on this page withheld: the patient's consent or a restriction of processing does not allow this access.` } }],
});

export function historyBundle(baseUrl: string, type: string, id: string, history: { entries: HistoryEntry[]; total: number }, page: { count: number; offset: number }, now: Date): string {
  const url = (offset: number) => `${baseUrl}/${type}/${id}/_history?_count=${page.count}&_offset=${offset}`;
  const links = [{ relation: 'self', url: url(page.offset) }];
  if (page.offset + page.count < history.total) links.push({ relation: 'next', url: url(page.offset + page.count) });
  const entries = history.entries.map((entry) => {
    const fullUrl = JSON.stringify(`${baseUrl}/${type}/${id}`);
    const response = `"response":{"status":"${entry.content === null ? '204' : entry.versionId === 1 ? '201' : '200'}","etag":"W/\\"${entry.versionId}\\"","lastModified":"${entry.lastUpdated}"}`;
    if (entry.content === null) return `{"fullUrl":${fullUrl},"request":{"method":"DELETE","url":"${type}/${id}"},${response}}`;
    const request = entry.versionId === 1 ? `{"method":"POST","url":"${type}"}` : `{"method":"PUT","url":"${type}/${id}"}`;
    return `{"fullUrl":${fullUrl},"resource":${entry.content},"request":${request},${response}}`;
  });
  return envelope('history', now, `,"total":${history.total},"link":${JSON.stringify(links)}`, entries);
}

export interface ResponseEntry {
  readonly status: string;
  readonly location?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** JSON text of a resource or OperationOutcome. */
  readonly resource?: string;
  readonly outcome?: string;
}

export function responseBundle(kind: 'batch-response' | 'transaction-response', entries: readonly ResponseEntry[], now: Date): string {
  return envelope(
    kind,
    now,
    '',
    entries.map((e) => {
      const response: Record<string, string> = { status: e.status };
      if (e.location !== undefined) response['location'] = e.location;
      if (e.etag !== undefined) response['etag'] = e.etag;
      if (e.lastModified !== undefined) response['lastModified'] = e.lastModified;
      const head = JSON.stringify(response);
      const withOutcome = e.outcome === undefined ? head : `${head.slice(0, -1)},"outcome":${e.outcome}}`;
      return `{${e.resource === undefined ? '' : `"resource":${e.resource},`}"response":${withOutcome}}`;
    }),
  );
}
