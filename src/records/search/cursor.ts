/**
 * Where the next page of a search starts: the sort key and id of the last record a page showed
 * (keyset paging), so that the next page is an index walk from there instead of an OFFSET that
 * reads and drops every earlier match. A cursor only positions the walk: each page runs the
 * whole search again under the caller's permission scope, so an edited cursor can move within
 * the caller's own matches and reach nothing else.
 *
 *   u<ms>.<id>   sorted by _lastUpdated (the default)
 *   d<ms>.<id>   sorted by the type's date, among records that have one
 *   n.<id>       sorted by the type's date, among records without one (they come last)
 *   i.<id>       sorted by _id
 */
export type Cursor =
  | { readonly key: 'lastUpdated' | 'date'; readonly value: number; readonly id: string }
  | { readonly key: 'date'; readonly value: null; readonly id: string }
  | { readonly key: 'id'; readonly value: null; readonly id: string };

const pattern = /^(?:([ud])(-?\d{1,16})|([ni]))\.([A-Za-z0-9\-.]{1,64})$/;

export function parseCursor(raw: string): Cursor | undefined {
  const m = pattern.exec(raw);
  if (m === null) return undefined;
  const id = m[4] as string;
  if (m[3] === 'n') return { key: 'date', value: null, id };
  if (m[3] === 'i') return { key: 'id', value: null, id };
  const value = Number(m[2]);
  if (!Number.isSafeInteger(value)) return undefined;
  return { key: m[1] === 'u' ? 'lastUpdated' : 'date', value, id };
}

export function formatCursor(cursor: Cursor): string {
  if (cursor.key === 'id') return `i.${cursor.id}`;
  if (cursor.value === null) return `n.${cursor.id}`;
  return `${cursor.key === 'lastUpdated' ? 'u' : 'd'}${cursor.value}.${cursor.id}`;
}
