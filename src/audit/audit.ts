import { periodic } from '../platform/periodic.js';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, SqlExecutor, Storage } from '../platform/db/index.js';
import { appendCheckpoint, readCheckpoints, type Checkpoint } from './checkpoints.js';
import { AuditError } from './errors.js';
import { operatorEvent, type Actor, type AuditEventInput } from './events.js';
import type { AuditSink } from './sinks.js';
import { appendEvents, deleteThrough, hasPending, insertPending, saveShipped, selectRetentionCut, selectEvents, selectEventsAfter, selectHead, selectShipped, type EventFilter, type StoredEvent } from './store.js';
import { verifyChain, type Finding, type VerifyReport } from './verify.js';

export interface Audit {
  /**
   * Writes the events inside the caller's transaction: the change and its events commit together
   * (or neither). SQLite chains them there; PostgreSQL leaves them pending, and they are chained
   * right after the commit (see store.ts insertPending).
   */
  appendIn(tx: SqlExecutor, tenantId: string, events: readonly AuditEventInput[]): Promise<void>;
  /** Chains every committed pending event of the tenant now (queries, verify and tests call it first). */
  settle(tenantId: string): Promise<void>;
  /**
   * Chains what earlier processes committed but left pending (a crash between a write's commit
   * and its chaining), for every tenant now and then every `everyMs`: servers run it.
   */
  sweep(tenantIds: () => Promise<string[]>, everyMs?: number): { stop(): Promise<void> };
  /**
   * Appends and resolves once the events are durable (reads: the response waits for this).
   * Events arriving together share one transaction. Fails with 503 `audit-unavailable`.
   */
  record(tenantId: string, events: readonly AuditEventInput[]): Promise<void>;
  /** Events of a tenant, newest first (the audit API and the per-patient access log). */
  query(tenantId: string, filter: EventFilter): Promise<StoredEvent[]>;
  /**
   * Re-computes the chain and checks it against every signed checkpoint of the tenant, from the
   * newest signed retention cut on (`cut`: events up to it were pruned; 0 when none).
   */
  verify(tenantId: string): Promise<VerifyReport & { readonly checkpoints: number; readonly cut: number }>;
  /**
   * Deletes the tenant's events older than the retention period behind a signed cut point
   * (`tresor-audit-cut/1` in the checkpoint log), so the rest still verifies; itself an
   * `audit.pruned` event. Refuses while the chain has findings, and never deletes events a SIEM
   * sink has not received.
   */
  prune(tenantId: string, actor: Actor): Promise<PruneResult>;
  /**
   * Prunes every tenant `firstAfterMs` after start (10 min: not in the way of start-up) and then
   * every `everyMs` (a day): servers run it. Each prune verifies the tenant's chain first.
   */
  retain(tenantIds: () => Promise<string[]>, actor: Actor, options?: { firstAfterMs?: number; everyMs?: number; onRefused?: (result: PruneResult) => void }): { stop(): Promise<void> };
  /** Signs the tenant's current chain head into the checkpoint log (when it moved since the last one). */
  checkpoint(tenantId: string): Promise<Checkpoint | undefined>;
  /**
   * Ships every tenant's events to the sinks (a SIEM), from a durable cursor per sink and tenant:
   * a sink that is down only delays delivery, with backoff, and the backlog shows in `backlog()`.
   */
  ship(sinks: readonly AuditSink[], tenantIds: () => Promise<string[]>, everyMs?: number): Shipping;
  /** Checkpoints what is pending, stops the timer. */
  close(): Promise<void>;
}

export interface PruneResult {
  readonly tenantId: string;
  /** The chain now starts after this event (0: nothing was ever pruned). */
  readonly cut: number;
  readonly deleted: number;
  /** Set when the chain had findings and nothing was pruned. */
  readonly refused?: readonly Finding[];
}

export interface Shipping {
  /** Events not yet delivered, per sink and tenant; whether each sink's last attempt worked. */
  backlog(): { readonly pending: ReadonlyArray<{ sink: string; tenant: string; events: number }>; readonly up: ReadonlyArray<{ sink: string; up: boolean }> };
  stop(): Promise<void>;
}

export interface AuditDeps {
  readonly storage: Storage;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly checkpoints: { readonly dir: string; readonly everyEvents: number; readonly everySeconds: number };
  /** Events older than this many days are pruned (config audit.retentionDays). */
  readonly retentionDays: number;
}

/**
 * The audit trail (SPEC L1): a hash chain per tenant in the tenant's own data set. Fail closed:
 * a caller that cannot get its event written gets an error, never a silent skip, and nothing
 * in the configuration turns auditing off.
 */
export function createAudit({ storage, keys, clock, checkpoints, retentionDays }: AuditDeps): Audit {
  const unavailable = (cause: unknown) => new AuditError('audit-unavailable', 'The audit trail cannot be written; nothing was returned or changed. Retry shortly.', { status: 503, expose: true, cause, headers: { 'retry-after': '2' } });

  // Per tenant, the events waiting for the next append transaction, and whether one is running:
  // one append at a time per tenant, and everything that arrives meanwhile goes in the next one
  // (like group commit), so concurrent readers share transactions instead of queueing on the
  // chain head's lock one by one. Each append also chains the tenant's committed pending events.
  type Waiter = { events: readonly AuditEventInput[]; resolve: () => void; reject: (error: unknown) => void };
  const queues = new Map<string, Waiter[]>();
  const flushing = new Set<string>();
  const inflight = new Set<Promise<void>>();
  // Tenants with committed pending events to chain (PostgreSQL).
  const unchained = new Set<string>();
  // Tenants whose last append left pending events behind (more than one append takes).
  const backlogged = new Set<string>();
  const pendingBatch = 1000;

  async function flush(tenantId: string): Promise<void> {
    try {
      for (;;) {
        const batch = queues.get(tenantId) ?? [];
        queues.delete(tenantId);
        const chain = unchained.delete(tenantId);
        if (batch.length === 0 && !chain) return;
        try {
          const db: SqlDatabase = await storage.tenant(tenantId);
          const { events, morePending } = await db.transaction((tx) => appendEvents(tx, tenantId, batch.flatMap((b) => b.events), clock.now().getTime(), pendingBatch));
          if (morePending) unchained.add(tenantId);
          if (morePending) backlogged.add(tenantId);
          else backlogged.delete(tenantId);
          note(tenantId, events.length);
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          // Pending events stay committed where they are; the next append or sweep chains them.
          for (const waiter of batch) waiter.reject(unavailable(error));
        }
      }
    } finally {
      flushing.delete(tenantId);
    }
  }

  function enqueue(tenantId: string, events: readonly AuditEventInput[], chain: boolean): Promise<void> {
    if (chain) unchained.add(tenantId);
    return new Promise<void>((resolve, reject) => {
      let queue = queues.get(tenantId);
      if (queue === undefined) {
        queue = [];
        queues.set(tenantId, queue);
      }
      queue.push({ events, resolve, reject });
      // Everything recorded in this turn of the event loop, or while an append runs, joins the next append.
      if (!flushing.has(tenantId)) {
        flushing.add(tenantId);
        setImmediate(() => {
          const running = flush(tenantId);
          inflight.add(running);
          void running.finally(() => inflight.delete(running));
        });
      }
    });
  }

  // Events appended by this process since its last checkpoint, per tenant; a checkpoint is
  // taken every `everyEvents` of them, and every `everySeconds` when any are pending.
  const pending = new Map<string, number>();
  const lastCheckpointed = new Map<string, number>();
  let running: Promise<unknown> = Promise.resolve();
  const note = (tenantId: string, count: number) => {
    const total = (pending.get(tenantId) ?? 0) + count;
    pending.set(tenantId, total);
    if (total >= checkpoints.everyEvents) setImmediate(() => void checkpointSoon(tenantId));
  };
  const checkpointSoon = (tenantId: string) => {
    running = running.then(() => checkpoint(tenantId)).catch(() => undefined);
    return running;
  };
  async function checkpoint(tenantId: string): Promise<Checkpoint | undefined> {
    pending.delete(tenantId);
    const head = await selectHead(await storage.tenant(tenantId));
    if (head === undefined || head.seq === lastCheckpointed.get(tenantId)) return undefined;
    const written = await appendCheckpoint(checkpoints.dir, await keys.signer('audit'), tenantId, head, clock.now());
    lastCheckpointed.set(tenantId, head.seq);
    mirror(written);
    return written;
  }

  // Copies of signed checkpoints and cuts for the SIEM sinks of a shipping server, per sink, sent
  // ahead of the next batch of events; kept while a sink is down, the newest 1,000 at most (the
  // checkpoint log itself is the record; this is a second copy elsewhere).
  const mirrors = new Map<string, Checkpoint[]>();
  const mirror = (written: Checkpoint) => {
    for (const queue of mirrors.values()) {
      queue.push(written);
      if (queue.length > 1000) queue.shift();
    }
  };
  const timer = setInterval(() => {
    for (const tenantId of pending.keys()) void checkpointSoon(tenantId);
  }, checkpoints.everySeconds * 1000);
  timer.unref();

  async function settle(tenantId: string): Promise<void> {
    // A backlog (after a crash or an outage) takes several appends; a bounded number, so that
    // a tenant under a constant stream of writes cannot keep the caller waiting.
    for (let round = 0; round < 100; round += 1) {
      await enqueue(tenantId, [], true);
      if (!backlogged.has(tenantId)) return;
    }
  }

  async function verify(tenantId: string): Promise<VerifyReport & { readonly checkpoints: number; readonly cut: number }> {
    const checked = await readCheckpoints(checkpoints.dir, tenantId, (version) => keys.signingPublicKey('audit', version));
    const forged: Finding[] = checked.flatMap((c) => (c.valid ? [] : [{ seq: 0, kind: 'checkpoint' as const, detail: `checkpoint log line ${c.line}: ${c.reason}` }]));
    const valid = checked.flatMap((c) => (c.valid ? [c.checkpoint] : []));
    const anchors = valid.filter((c) => c.format === 'tresor-audit-checkpoint/1').map((c) => ({ seq: c.seq, hash: c.hash }));
    // The newest signed retention cut: the chain is checked from there on.
    const cut = valid.filter((c) => c.format === 'tresor-audit-cut/1').reduce<Checkpoint | undefined>((newest, c) => (newest === undefined || c.seq > newest.seq ? c : newest), undefined);
    await settle(tenantId);
    const report = await verifyChain(await storage.tenant(tenantId), tenantId, anchors, undefined, cut === undefined ? undefined : { seq: cut.seq, hash: cut.hash });
    return { ...report, findings: [...forged, ...report.findings], checkpoints: anchors.length, cut: cut?.seq ?? 0 };
  }

  async function prune(tenantId: string, actor: Actor): Promise<PruneResult> {
    const report = await verify(tenantId);
    // A chain with findings is evidence: nothing of it is deleted until someone looks.
    if (report.findings.length > 0) return { tenantId, cut: report.cut, deleted: 0, refused: report.findings };
    const db = await storage.tenant(tenantId);
    const cut = await selectRetentionCut(db, report.cut, clock.now().getTime() - retentionDays * 86_400_000);
    if (cut === undefined) return { tenantId, cut: report.cut, deleted: 0 };
    // Signed and synced before anything is deleted: a crash in between leaves extra old events
    // (deleted by the next prune), never a gap that no signed cut explains.
    mirror(await appendCheckpoint(checkpoints.dir, await keys.signer('audit'), tenantId, cut, clock.now(), 'tresor-audit-cut/1'));
    const deleted = await deleteThrough(db, cut.seq);
    await enqueue(tenantId, [operatorEvent('audit.pruned', actor, { detail: `through-${cut.seq}` })], false);
    return { tenantId, cut: cut.seq, deleted };
  }

  return {
    async appendIn(tx, tenantId, events) {
      if (events.length === 0) return;
      try {
        if (tx.dialect === 'postgres') {
          await insertPending(tx, events, clock.now().getTime());
          tx.afterCommit(() => void enqueue(tenantId, [], true).catch(() => undefined));
        } else {
          const { events: stored } = await appendEvents(tx, tenantId, events, clock.now().getTime());
          note(tenantId, stored.length);
        }
      } catch (error) {
        throw unavailable(error);
      }
    },
    settle,
    sweep(tenantIds, everyMs = 60_000) {
      return periodic(async (stopped) => {
        for (const tenantId of await tenantIds()) {
          if (stopped()) return;
          if (await hasPending(await storage.tenant(tenantId))) await settle(tenantId);
        }
      }, everyMs);
    },
    checkpoint: (tenantId) => checkpoint(tenantId),
    ship(sinks, tenantIds, everyMs = 1000) {
      const pending = new Map<string, { sink: string; tenant: string; events: number }>();
      const up = new Map<string, boolean>();
      const retryAt = new Map<string, number>();
      const backoff = new Map<string, number>();
      for (const sink of sinks) mirrors.set(sink.name, []);
      const failed = (sink: AuditSink) => {
        // Down: try again later, waiting longer each time (up to 30 s); nothing is dropped.
        const wait = Math.min(30_000, (backoff.get(sink.name) ?? 250) * 2);
        backoff.set(sink.name, wait);
        retryAt.set(sink.name, Date.now() + wait);
        up.set(sink.name, false);
      };
      async function round(stopped: () => boolean): Promise<void> {
        for (const sink of sinks) {
          const queue = mirrors.get(sink.name) ?? [];
          if (queue.length === 0 || Date.now() < (retryAt.get(sink.name) ?? 0)) continue;
          const batch = queue.splice(0);
          await sink.sendCheckpoints(batch).catch(() => {
            queue.unshift(...batch);
            failed(sink);
          });
        }
        for (const tenantId of await tenantIds()) {
          const db = await storage.tenant(tenantId);
          const head = await selectHead(db);
          if (head === undefined) continue;
          for (const sink of sinks) {
            let cursor = await selectShipped(db, sink.name);
            while (!stopped() && cursor < head.seq && Date.now() >= (retryAt.get(sink.name) ?? 0)) {
              const events = await selectEventsAfter(db, tenantId, cursor, 2000);
              if (events.length === 0) break;
              try {
                await sink.send(events);
              } catch {
                failed(sink);
                break;
              }
              up.set(sink.name, true);
              backoff.delete(sink.name);
              cursor = (events[events.length - 1] as StoredEvent).seq;
              await saveShipped(db, sink.name, cursor);
            }
            pending.set(`${sink.name}|${tenantId}`, { sink: sink.name, tenant: tenantId, events: Math.max(0, head.seq - cursor) });
          }
        }
      }
      const job = periodic(round, everyMs);
      return {
        backlog: () => ({ pending: [...pending.values()], up: [...up].map(([sink, ok]) => ({ sink, up: ok })) }),
        async stop() {
          await job.stop();
          for (const sink of sinks) mirrors.delete(sink.name);
          for (const sink of sinks) await sink.close();
        },
      };
    },
    async query(tenantId, filter) {
      await settle(tenantId);
      return selectEvents(await storage.tenant(tenantId), tenantId, filter);
    },
    async close() {
      // Appends already scheduled (reads awaiting theirs, writes just committed) finish first.
      while (flushing.size > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all(inflight);
      }
      clearInterval(timer);
      for (const tenantId of [...pending.keys()]) await checkpointSoon(tenantId);
      await running;
    },
    record(tenantId, events) {
      return events.length === 0 ? Promise.resolve() : enqueue(tenantId, events, false);
    },
    verify,
    prune,
    retain(tenantIds, actor, { firstAfterMs = 600_000, everyMs = 86_400_000, onRefused = () => {} } = {}) {
      return periodic(
        async (stopped) => {
          for (const tenantId of await tenantIds()) {
            if (stopped()) return;
            const result = await prune(tenantId, actor);
            if (result.refused !== undefined) onRefused(result);
          }
        },
        everyMs,
        firstAfterMs,
      );
    },
  };
}

