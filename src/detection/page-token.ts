/**
 * A list's place between pages: the sort key of the last item shown (a time and a unique id
 * that breaks ties), opaque to callers — they follow the `next` link and never build it, so the
 * shape may change. Keyset paging on the pair: items sharing a time at a page's edge are neither
 * skipped nor shown twice, however many there are.
 */
export interface PagePlace {
  readonly at: number;
  readonly key: string;
}

const shape = /^(\d{1,15})\|([\w./:-]{1,200})$/;

export const encodePageToken = (place: PagePlace): string => Buffer.from(`${place.at}|${place.key}`, 'utf8').toString('base64url');

/** The place a token names, or undefined when it is not one of ours (the caller answers 400). */
export function decodePageToken(token: string): PagePlace | undefined {
  if (!/^[A-Za-z0-9_-]{4,400}$/.test(token)) return undefined;
  const match = shape.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match === null ? undefined : { at: Number(match[1]), key: match[2] as string };
}
