import type { SqlExecutor } from '../platform/db/index.js';
import { chainHashOf, genesis } from './events.js';
import { canonicalOfRow, selectHead, selectRowsAfter, type EventRow } from './store.js';

/** A stored event as verification sees it: number, stored hash, and its canonical text for any number. */
interface Link {
  readonly seq: number;
  readonly hash: string;
  readonly row: EventRow;
}

/**
 * What `tresor audit verify` reports, each located by sequence number:
 * - `missing`: events deleted (a gap in the sequence);
 * - `modified`: an event whose content or hash no longer fits the chain (edited, or forged and inserted);
 * - `moved`: an intact event at the wrong place (reordered, or shifted by an insertion or deletion
 *   that renumbered the rest); `detail` names where it belongs;
 * - `truncated`: events cut from the end (fewer than the head or a signed checkpoint records);
 * - `extra`: events after the recorded head;
 * - `checkpoint`: a line of the checkpoint log that is not a validly signed checkpoint.
 */
export interface Finding {
  readonly seq: number;
  readonly kind: 'missing' | 'modified' | 'moved' | 'truncated' | 'extra' | 'checkpoint';
  readonly detail: string;
}

export interface VerifyReport {
  readonly tenantId: string;
  readonly events: number;
  readonly lastSeq: number;
  readonly findings: readonly Finding[];
}

/** A known-good point of the chain (a signed checkpoint): the chain must reach it and match it. */
export interface Anchor {
  readonly seq: number;
  readonly hash: string;
}

const window = 5;

/** Re-computes the tenant's chain from its first event; streams, so memory stays flat. */
export async function verifyChain(db: SqlExecutor, tenantId: string, anchors: readonly Anchor[] = [], pageSize = 5000): Promise<VerifyReport> {
  const findings: Finding[] = [];
  const start = genesis(tenantId);
  let buffer: Link[] = [];
  let done = false;
  let after = 0;
  let events = 0;
  let previous: Link | undefined;
  const text = (link: Link, seq = link.seq) => canonicalOfRow(tenantId, link.row, seq);
  let expectedSeq = 1;
  const anchorAt = new Map(anchors.map((a) => [a.seq, a.hash]));

  /**
   * For an event that does not link to its stored predecessor: `'intact'` when it links to a
   * nearby event under its own number (a neighbour was moved, not this one), the number it
   * belongs at when it is intact but displaced, or undefined when it was altered.
   */
  function belongs(event: Link, index: number): number | 'intact' | undefined {
    const candidates = [start, ...buffer.slice(Math.max(0, index - window), index + window + 1).map((e) => e.hash)];
    const own = text(event);
    for (const previousHash of candidates) if (chainHashOf(previousHash, own) === event.hash) return 'intact';
    for (let seq = Math.max(1, event.seq - window); seq <= event.seq + window; seq += 1) {
      if (seq === event.seq) continue;
      const moved = text(event, seq);
      for (const previousHash of candidates) if (chainHashOf(previousHash, moved) === event.hash) return seq;
    }
    return undefined;
  }

  function check(event: Link, index: number): void {
    events += 1;
    if (event.seq > expectedSeq) {
      findings.push({ seq: expectedSeq, kind: 'missing', detail: event.seq - expectedSeq === 1 ? `event ${expectedSeq} is missing` : `events ${expectedSeq}–${event.seq - 1} are missing` });
    } else {
      const previousHash = previous === undefined ? start : previous.hash;
      if (chainHashOf(previousHash, text(event)) !== event.hash) {
        const home = belongs(event, index);
        if (home === undefined) findings.push({ seq: event.seq, kind: 'modified', detail: `event ${event.seq} does not match the chain: edited, or forged and inserted` });
        else if (home !== 'intact') findings.push({ seq: event.seq, kind: 'moved', detail: `event ${event.seq} is intact but belongs at ${home}: events were reordered, inserted or deleted here` });
      }
    }
    const anchored = anchorAt.get(event.seq);
    if (anchored !== undefined && anchored !== event.hash) {
      findings.push({ seq: event.seq, kind: 'modified', detail: `event ${event.seq} differs from the signed checkpoint: history was rewritten up to here` });
    }
    previous = event;
    expectedSeq = event.seq + 1;
  }

  let next = 0;
  for (;;) {
    if (!done && buffer.length - next <= window) {
      const page = (await selectRowsAfter(db, after, pageSize)).map((row) => ({ seq: Number(row.seq), hash: row.hash, row }));
      if (page.length < pageSize) done = true;
      if (page.length > 0) after = (page[page.length - 1] as Link).seq;
      buffer = buffer.concat(page);
      continue;
    }
    // Check up to `window` events before the end of what is loaded: each needs a few neighbours.
    const limit = done ? buffer.length : buffer.length - window;
    for (; next < limit; next += 1) check(buffer[next] as Link, next);
    const drop = Math.max(0, next - window);
    buffer = buffer.slice(drop);
    next -= drop;
    if (done && next >= buffer.length) break;
  }

  const lastSeq = previous?.seq ?? 0;
  const head = await selectHead(db);
  if (head !== undefined && head.seq > lastSeq) findings.push({ seq: lastSeq + 1, kind: 'truncated', detail: `the chain ends at ${lastSeq}, its head records ${head.seq}: events after ${lastSeq} were cut` });
  else if (head !== undefined && head.seq < lastSeq) findings.push({ seq: head.seq + 1, kind: 'extra', detail: `events after ${head.seq} were added behind the chain's head` });
  else if (head !== undefined && previous !== undefined && head.hash !== previous.hash) findings.push({ seq: lastSeq, kind: 'modified', detail: `the chain's head does not match event ${lastSeq}` });
  for (const anchor of anchors) {
    if (anchor.seq > lastSeq) findings.push({ seq: lastSeq + 1, kind: 'truncated', detail: `a signed checkpoint records ${anchor.seq} events; the chain ends at ${lastSeq}` });
  }
  findings.sort((a, b) => a.seq - b.seq);
  return { tenantId, events, lastSeq, findings };
}
