import type { KeyObject } from 'node:crypto';
import type { SqlExecutor } from '../platform/db/index.js';
import { readCheckpoints, type CheckedCheckpoint, type Checkpoint } from './checkpoints.js';
import { selectHead } from './store.js';
import { verifyChain, type Anchor, type Finding, type VerifyReport } from './verify.js';

/**
 * What the checkpoint log says a tenant's chain must agree with, once data sets can be restored.
 *
 * A restore line (`tresor-audit-restore/1`, written when a tenant's data set was replaced by a
 * backup) begins a new history: the chain went back to the snapshot's head and goes on from
 * there. The lines in effect for a chain of a history are: those of the history the snapshot was
 * taken in (its `parent`, normally the one just before) with `seq` ≤ the restore line's, the
 * restore line itself (an anchor), and the history's own lines. So a restore line discards every
 * earlier line with a higher `seq` — they describe a history that was rolled back — and, when the
 * snapshot came from a history that was itself rolled back earlier, every line of the histories
 * in between.
 */
export interface History {
  /** 0: the log before any restore line; k: the history the k-th valid restore line began. */
  readonly index: number;
  readonly restore?: Checkpoint;
  /** The lines in effect for a chain of this history, in log order. */
  readonly lines: readonly Checkpoint[];
}

/** What `audit.verify` and `verifyRestoredChain` report. */
export interface ChainReport extends VerifyReport {
  /** Signed anchors (checkpoints and restore lines) the chain was checked against. */
  readonly checkpoints: number;
  /** The signed retention cut the chain was checked from (0: none). */
  readonly cut: number;
}

/** The log's histories, newest last, and a finding for every line that is not a valid signed line. */
export function readHistories(checked: readonly CheckedCheckpoint[]): { histories: History[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const histories: History[] = [{ index: 0, lines: [] }];
  let own: Checkpoint[] = [];
  let current: { index: number; restore?: Checkpoint; inherited: readonly Checkpoint[] } = { index: 0, inherited: [] };
  const close = () => {
    histories[current.index] = { index: current.index, ...(current.restore === undefined ? {} : { restore: current.restore }), lines: [...current.inherited, ...own] };
  };
  for (const entry of checked) {
    if (!entry.valid) {
      findings.push({ seq: 0, kind: 'checkpoint', detail: `checkpoint log line ${entry.line}: ${entry.reason}` });
      continue;
    }
    const line = entry.checkpoint;
    if (line.format !== 'tresor-audit-restore/1') {
      own.push(line);
      continue;
    }
    close();
    const index = current.index + 1;
    let parent = line.parent ?? index - 1;
    if (parent >= index) {
      // Signed, so written by Tresor; checked against the history just before instead.
      findings.push({ seq: 0, kind: 'checkpoint', detail: `checkpoint log line ${entry.line}: a restore line naming history ${parent}, which does not precede it` });
      parent = index - 1;
    }
    const from = histories[parent] as History;
    current = { index, restore: line, inherited: [...from.lines.filter((l) => l.seq <= line.seq), line] };
    own = [];
  }
  close();
  return { histories, findings };
}

/** The anchors and the newest cut a chain of `history` is checked against, up to `upTo`. */
export function inEffect(history: History, upTo = Number.POSITIVE_INFINITY): { anchors: Anchor[]; cut?: Anchor } {
  const lines = history.lines.filter((l) => l.seq <= upTo);
  const anchors = lines.filter((l) => l.format !== 'tresor-audit-cut/1').map((l) => ({ seq: l.seq, hash: l.hash }));
  const cut = lines.filter((l) => l.format === 'tresor-audit-cut/1').reduce<Checkpoint | undefined>((newest, c) => (newest === undefined || c.seq > newest.seq ? c : newest), undefined);
  return cut === undefined ? { anchors } : { anchors, cut: { seq: cut.seq, hash: cut.hash } };
}

/**
 * The history a chain whose head is `head` belongs to: of those it could belong to (begun at or
 * below its head), the one whose anchors it contradicts least, then the one with most anchors to
 * check it against, then the newest. A chain with a single candidate history is not looked at.
 */
export async function historyOf(db: SqlExecutor, histories: readonly History[], head: number): Promise<History> {
  const candidates = histories.filter((h) => h.restore === undefined || h.restore.seq <= head);
  if (candidates.length <= 1) return candidates[0] ?? (histories[0] as History);
  let best: { history: History; misses: number; checked: number } | undefined;
  for (const history of candidates.reverse()) {
    const { anchors, cut } = inEffect(history, head);
    const checked = anchors.filter((a) => a.seq > (cut?.seq ?? 0));
    const misses = await contradictions(db, checked);
    if (best === undefined || misses < best.misses || (misses === best.misses && checked.length > best.checked)) best = { history, misses, checked: checked.length };
  }
  return (best as { history: History }).history;
}

/** How many anchors the stored chain does not hold (a different hash there, or no event). */
async function contradictions(db: SqlExecutor, anchors: readonly Anchor[]): Promise<number> {
  let misses = 0;
  for (let start = 0; start < anchors.length; start += 500) {
    const part = anchors.slice(start, start + 500);
    const rows = await db.query<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${db.table('audit_events')} WHERE seq IN (${part.map(() => '?').join(', ')})`, part.map((a) => a.seq));
    const stored = new Map(rows.map((row) => [Number(row.seq), row.hash]));
    for (const anchor of part) if (stored.get(anchor.seq) !== anchor.hash) misses += 1;
  }
  return misses;
}

/**
 * Verifies a copy of a tenant's chain — a restored backup, opened by the caller — up to its own
 * head, reading the copy only: against the signed lines of the history it belongs to with `seq`
 * at or below its head (lines above it describe what happened after the snapshot: not a
 * truncation), from the newest signed cut at or below its head. A contradicted checkpoint, a
 * damaged event and a forged log line are findings as in `audit.verify`.
 *
 * `publicKey`: the audit signing key's public key by version, e.g.
 * `(version) => keys.signingPublicKey('audit', version)`.
 */
export async function verifyRestoredChain(db: SqlExecutor, tenantId: string, checkpointDir: string, publicKey: (version: number) => Promise<KeyObject | undefined>): Promise<ChainReport> {
  const { histories, findings } = readHistories(await readCheckpoints(checkpointDir, tenantId, publicKey));
  const head = (await selectHead(db))?.seq ?? 0;
  const { anchors, cut } = inEffect(await historyOf(db, histories, head), head);
  const report = await verifyChain(db, tenantId, anchors, undefined, cut);
  return { ...report, findings: [...findings, ...report.findings], checkpoints: anchors.length, cut: cut?.seq ?? 0 };
}
