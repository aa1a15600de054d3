import type { SqlExecutor } from '../platform/db/index.js';
import { chainHashOf, genesis, operatorEvent, type Actor, type AuditEventInput } from './events.js';
import { canonicalOfRow, selectHead, selectLinksAfter, selectRowsBetween, type EventRow } from './store.js';

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

/**
 * The `audit.verify_failed` event for a verification's findings, for the verified tenant's own
 * trail (it can still take events): the kinds and counts (`modified 1; missing 2`), never the
 * events' contents. The daily prune and `tresor audit verify` record it for detection (NIST SP
 * 800-92 §4.2; OWASP ASVS 5 V16.4.2); `verify` itself only reads, so a restore can be checked
 * before it is marked without the check moving the chain's head.
 */
export function verifyFailedEvent(findings: readonly Finding[], actor: Actor): AuditEventInput {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  return operatorEvent('audit.verify_failed', actor, { outcome: 'failure', detail: [...counts].map(([kind, n]) => `${kind} ${n}`).join('; ') });
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

/** Events around one or more suspect links, to be re-checked from their columns. */
interface Cluster {
  /** First and last seq to load: `window` rows before the first suspect, up to 2·`window`+1 after the last. */
  from: number;
  to: number;
  readonly suspects: Set<number>;
  /** Rows still to extend `to` by; a suspect within them joins this cluster. */
  remaining: number;
}

/**
 * Re-computes the tenant's chain from its first event, in two passes; memory stays flat.
 *
 * 1. A fast scan over (seq, canonical text rendered by the database, stored hash), the next page
 *    fetched while this one is hashed: each event must link to its stored predecessor, numbers
 *    must have no gaps, and signed checkpoints must match. Events that do not link are suspects.
 * 2. Around each group of suspects, full rows are loaded and re-checked with `canonicalOfRow`;
 *    those that still do not link are classified (edited, or intact but moved), looking a few
 *    events either side.
 */
export async function verifyChain(db: SqlExecutor, tenantId: string, anchors: readonly Anchor[] = [], pageSize = 5000, cut?: Anchor): Promise<VerifyReport> {
  const findings: Finding[] = [];
  // After a signed retention cut the chain starts from the cut's hash; events up to it are gone.
  const origin: Anchor = cut ?? { seq: 0, hash: genesis(tenantId) };
  const start = origin.hash;
  const anchorAt = new Map(anchors.map((a) => [a.seq, a.hash]));
  const clusters: Cluster[] = [];
  let open: Cluster | undefined;
  // The seqs of the `window` + 1 events before the current one.
  const recent: number[] = [];
  let previousHash = start;
  let expectedSeq = origin.seq + 1;
  let events = 0;
  let lastSeq = origin.seq;

  // The head is read before the scan and again after it: on a running server the chain may grow
  // while it is read. Every event up to the first head was committed before the scan began, so
  // the scan must find them all (else truncated); the events it found may reach past the first
  // head, but never past the second (else added behind it).
  const headBefore = await selectHead(db);
  let next = selectLinksAfter(db, tenantId, origin.seq, pageSize);
  for (;;) {
    const page = await next;
    const last = page[page.length - 1];
    if (page.length === pageSize && last !== undefined) next = selectLinksAfter(db, tenantId, Number(last.seq), pageSize);
    for (const link of page) {
      const seq = Number(link.seq);
      events += 1;
      if (seq > expectedSeq) {
        findings.push({ seq: expectedSeq, kind: 'missing', detail: seq - expectedSeq === 1 ? `event ${expectedSeq} is missing` : `events ${expectedSeq}–${seq - 1} are missing` });
      } else if (chainHashOf(previousHash, link.text) !== link.hash) {
        if (open !== undefined && open.remaining > 0) open.suspects.add(seq);
        else clusters.push((open = { from: recent[0] ?? seq, to: seq, suspects: new Set([seq]), remaining: 0 }));
        open.remaining = 2 * window + 1;
      }
      if (open !== undefined && open.remaining > 0) {
        open.to = seq;
        open.remaining -= 1;
      }
      const anchored = anchorAt.get(seq);
      if (anchored !== undefined && anchored !== link.hash) {
        findings.push({ seq, kind: 'modified', detail: `event ${seq} differs from the signed checkpoint: history was rewritten up to here` });
      }
      recent.push(seq);
      if (recent.length > window + 1) recent.shift();
      previousHash = link.hash;
      expectedSeq = seq + 1;
      lastSeq = seq;
    }
    if (page.length < pageSize) break;
  }

  for (const cluster of clusters) findings.push(...(await classify(db, tenantId, cluster, pageSize, start)));

  const headAfter = await selectHead(db);
  const atEnd = [headAfter, headBefore].find((head) => head?.seq === lastSeq);
  if (headBefore !== undefined && headBefore.seq > lastSeq) findings.push({ seq: lastSeq + 1, kind: 'truncated', detail: `the chain ends at ${lastSeq}, its head records ${headBefore.seq}: events after ${lastSeq} were cut` });
  else if (headAfter !== undefined && headAfter.seq < lastSeq) findings.push({ seq: headAfter.seq + 1, kind: 'extra', detail: `events after ${headAfter.seq} were added behind the chain's head` });
  else if (atEnd !== undefined && atEnd.hash !== previousHash) findings.push({ seq: lastSeq, kind: 'modified', detail: `the chain's head does not match event ${lastSeq}` });
  for (const anchor of anchors) {
    if (anchor.seq > lastSeq && anchor.seq > origin.seq) findings.push({ seq: lastSeq + 1, kind: 'truncated', detail: `a signed checkpoint records ${anchor.seq} events; the chain ends at ${lastSeq}` });
  }
  findings.sort((a, b) => a.seq - b.seq);
  return { tenantId, events, lastSeq, findings };
}

/** Pass 2: the cluster's rows, in pages; each suspect re-checked from its columns and, failing that, located. */
async function classify(db: SqlExecutor, tenantId: string, cluster: Cluster, pageSize: number, start: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const text = (link: Link, seq = link.seq) => canonicalOfRow(tenantId, link.row, seq);
  let buffer: Link[] = [];
  let done = false;
  let from = cluster.from;
  let previous: Link | undefined;

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
    if (cluster.suspects.has(event.seq) && chainHashOf(previous?.hash ?? start, text(event)) !== event.hash) {
      const home = belongs(event, index);
      if (home === undefined) findings.push({ seq: event.seq, kind: 'modified', detail: `event ${event.seq} does not match the chain: edited, or forged and inserted` });
      else if (home !== 'intact') findings.push({ seq: event.seq, kind: 'moved', detail: `event ${event.seq} is intact but belongs at ${home}: events were reordered, inserted or deleted here` });
    }
    previous = event;
  }

  let next = 0;
  for (;;) {
    if (!done && buffer.length - next <= window) {
      const page = (await selectRowsBetween(db, from, cluster.to, pageSize)).map((row) => ({ seq: Number(row.seq), hash: row.hash, row }));
      if (page.length < pageSize) done = true;
      if (page.length > 0) from = (page[page.length - 1] as Link).seq + 1;
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
  return findings;
}
