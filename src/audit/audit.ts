import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { walkTenants } from '../platform/walk-tenants.js';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, SqlExecutor, Storage } from '../platform/db/index.js';
import { appendCheckpoint, readCheckpoints, snapshotIdPattern, type Checkpoint } from './checkpoints.js';
import { AuditError } from './errors.js';
import { admitEvent, genesis, operatorEvent, type Actor, type AuditEventInput } from './events.js';
import { historyOf, inEffect, readHistories, verifyRestoredChain, type ChainReport, type History } from './history.js';
import type { AuditSink } from './sinks.js';
import { appendEvents, deleteThrough, hasPending, insertPending, pendingPerStatement, saveShipped, selectRetentionCut, selectEvents, selectEventsAfter, selectHead, selectShipped, type EventFilter, type StoredEvent } from './store.js';
import { verifyChain, verifyFailedEvent, type Finding } from './verify.js';

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
  sweep(tenantIds: () => Promise<string[]>, everyMs?: number, leadership?: Leadership): { stop(): Promise<void> };
  /**
   * Resolves once the events are durable (reads: the response waits for this). Events arriving
   * together share one transaction. SQLite appends them to the chain there; PostgreSQL commits
   * them as pending, like a write's, and chains them right after. Fails with 503
   * `audit-unavailable`.
   */
  record(tenantId: string, events: readonly AuditEventInput[]): Promise<void>;
  /** Events of a tenant, newest first (the audit API and the per-patient access log). */
  query(tenantId: string, filter: EventFilter): Promise<StoredEvent[]>;
  /**
   * Re-computes the chain and checks it against every signed checkpoint of the tenant, from the
   * newest signed retention cut on (`cut`: events up to it were pruned; 0 when none). After a
   * restore, against the lines in effect for the restored history (see history.ts).
   */
  verify(tenantId: string): Promise<ChainReport>;
  /**
   * `verifyRestoredChain` with this deployment's checkpoint log and key: a copy of the tenant's
   * chain (a restored backup the caller opened), checked up to its own head. Reads the copy only.
   */
  verifyCopy(db: SqlExecutor, tenantId: string): Promise<ChainReport>;
  /**
   * To be called right after the tenant's data set was replaced by backup `snapshotId` in the
   * running system (with the tenant's traffic held): signs the restored chain's head into the
   * checkpoint log as a `tresor-audit-restore/1` line (synced, and sent to the SIEM sinks), so
   * that the rolled-back history's later checkpoints and cuts stop counting; forgets what this
   * process knew of the old chain; appends a `backup.restored` event (detail: the snapshot id)
   * and checkpoints it at once. Verify the snapshot's chain before restoring it
   * (`verifyCopy`): this marks whatever chain is there, and lines it contradicts stay findings.
   */
  markRestored(tenantId: string, restore: { readonly snapshotId: string; readonly actor?: Actor }): Promise<Checkpoint>;
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
  retain(tenantIds: () => Promise<string[]>, actor: Actor, options?: { firstAfterMs?: number; everyMs?: number; onRefused?: (result: PruneResult) => void; leadership?: Leadership }): { stop(): Promise<void> };
  /** Signs the tenant's current chain head into the checkpoint log (when it moved since the last one). */
  checkpoint(tenantId: string): Promise<Checkpoint | undefined>;
  /**
   * Ships every tenant's events to the sinks (a SIEM), from a durable cursor per sink and tenant:
   * a sink that is down only delays delivery, with backoff, and the backlog shows in `backlog()`.
   */
  ship(sinks: readonly AuditSink[], tenantIds: () => Promise<string[]>, everyMs?: number): Shipping;
  /**
   * Calls `listener` with the tenant each time this process chained events of it (off the
   * caller's path: after the append). The detection engine wakes on it; returns the unsubscribe.
   */
  onAppended(listener: (tenantId: string) => void): () => void;
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
  /**
   * `dirOf`, where given, says per tenant where its checkpoints go (its region's checkpoint
   * directory, src/regions); else every tenant's are in `dir`.
   */
  readonly checkpoints: { readonly dir: string; readonly dirOf?: (tenantId: string) => string; readonly everyEvents: number; readonly everySeconds: number };
  /** Events older than this many days are pruned (config audit.retentionDays). */
  readonly retentionDays: number;
}

/**
 * The audit trail (SPEC L1): a hash chain per tenant in the tenant's own data set. Fail closed:
 * a caller that cannot get its event written gets an error, never a silent skip, and nothing
 * in the configuration turns auditing off.
 */
export function createAudit({ storage, keys, clock, checkpoints, retentionDays }: AuditDeps): Audit {
  const checkpointDir = checkpoints.dirOf ?? (() => checkpoints.dir);
  const unavailable = (cause: unknown) => new AuditError('audit-unavailable', 'The audit trail cannot be written; nothing was returned or changed. Retry shortly.', { status: 503, expose: true, cause, headers: { 'retry-after': '2' } });

  // Per tenant, the events waiting for the next transaction, and whether one is running: one at a
  // time per tenant and queue, and everything that arrives meanwhile goes in the next one (like
  // group commit), so concurrent readers share transactions instead of queueing one by one.
  type Waiter = { events: readonly AuditEventInput[]; resolve: () => void; reject: (error: unknown) => void };
  interface GroupCommit {
    readonly queues: Map<string, Waiter[]>;
    readonly running: Set<string>;
    /** One transaction for the batch (empty when only `more` asked for one). */
    readonly commit: (tenantId: string, batch: Waiter[]) => Promise<void>;
    /** Whether an empty batch still has work (chaining what is pending). */
    readonly more: (tenantId: string) => boolean;
  }
  const inflight = new Set<Promise<void>>();
  async function drain(group: GroupCommit, tenantId: string): Promise<void> {
    try {
      for (;;) {
        const batch = group.queues.get(tenantId) ?? [];
        group.queues.delete(tenantId);
        if (batch.length === 0 && !group.more(tenantId)) return;
        try {
          await group.commit(tenantId, batch);
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          // Pending events stay committed where they are; the next append or sweep chains them.
          // One caller's events must not sink the others' they shared a transaction with: each
          // waiter is tried alone, and only those that still fail get the error.
          if (batch.length === 1) (batch[0] as Waiter).reject(unavailable(error));
          else for (const waiter of batch) await commitAlone(group, tenantId, waiter);
        }
      }
    } finally {
      group.running.delete(tenantId);
    }
  }
  async function commitAlone(group: GroupCommit, tenantId: string, waiter: Waiter): Promise<void> {
    try {
      await group.commit(tenantId, [waiter]);
      waiter.resolve();
    } catch (error) {
      waiter.reject(unavailable(error));
    }
  }
  function submit(group: GroupCommit, tenantId: string, input: readonly AuditEventInput[]): Promise<void> {
    let events: readonly AuditEventInput[];
    try {
      events = input.map(admitEvent);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      let queue = group.queues.get(tenantId);
      if (queue === undefined) {
        queue = [];
        group.queues.set(tenantId, queue);
      }
      queue.push({ events, resolve, reject });
      // Everything queued in this turn of the event loop, or while a transaction runs, joins the next.
      if (!group.running.has(tenantId)) {
        group.running.add(tenantId);
        setImmediate(() => {
          const running = drain(group, tenantId);
          inflight.add(running);
          void running.finally(() => inflight.delete(running));
        });
      }
    });
  }

  // Appends to the chain: under the head's lock, up to `pendingBatch` of the tenant's committed
  // pending events (PostgreSQL), oldest first, then the queued events.
  // Tenants with committed pending events to chain (PostgreSQL).
  const unchained = new Set<string>();
  // Tenants whose last append left pending events behind (more than one append takes).
  const backlogged = new Set<string>();
  const pendingBatch = 1000;
  const appends: GroupCommit = {
    queues: new Map(),
    running: new Set(),
    more: (tenantId) => unchained.delete(tenantId),
    async commit(tenantId, batch) {
      const db: SqlDatabase = await storage.tenant(tenantId);
      const { events, morePending } = await db.transaction((tx) => appendEvents(tx, tenantId, batch.flatMap((b) => b.events), clock.now().getTime(), pendingBatch));
      if (morePending) unchained.add(tenantId);
      if (morePending) backlogged.add(tenantId);
      else backlogged.delete(tenantId);
      note(tenantId, events.length);
    },
  };
  function enqueue(tenantId: string, events: readonly AuditEventInput[], chain: boolean): Promise<void> {
    if (chain) unchained.add(tenantId);
    return submit(appends, tenantId, events);
  }

  // PostgreSQL reads: an event is durable once committed as a pending row, as a write's events
  // are (insertPending), so the response waits for that commit only. Reads on several nodes then
  // commit side by side (PostgreSQL's group commit) instead of taking the tenant's chain head in
  // turn, each holding it through its commit's round trip to the synchronous standby; the
  // chainer moves them onto the chain right after, off the response's path.
  const records: GroupCommit = {
    queues: new Map(),
    running: new Set(),
    more: () => false,
    async commit(tenantId, batch) {
      const db = await storage.tenant(tenantId);
      const events = batch.flatMap((b) => b.events);
      // Up to a statement's worth, the INSERT is its own transaction: atomic, and durable when
      // the server answers (synchronous_commit on), without the round trips of BEGIN and COMMIT.
      if (events.length <= pendingPerStatement) await insertPending(db, events, clock.now().getTime());
      else await db.transaction((tx) => insertPending(tx, events, clock.now().getTime()));
      void enqueue(tenantId, [], true).catch(() => undefined);
    },
  };
  function recordEvents(tenantId: string, events: readonly AuditEventInput[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return storage.engine === 'postgres' ? submit(records, tenantId, events) : enqueue(tenantId, events, false);
  }
  const busy = (tenantId: string) => appends.running.has(tenantId) || records.running.has(tenantId);

  // Events appended by this process since its last checkpoint, per tenant; a checkpoint is
  // taken every `everyEvents` of them, and every `everySeconds` when any are pending.
  const pending = new Map<string, number>();
  const lastCheckpointed = new Map<string, number>();
  let running: Promise<unknown> = Promise.resolve();
  // Tenants with new events, for each shipping job (ship()).
  const shipWatch = new Set<Set<string>>();
  const appendListeners = new Set<(tenantId: string) => void>();
  const note = (tenantId: string, count: number) => {
    for (const appended of shipWatch) appended.add(tenantId);
    for (const listener of appendListeners) listener(tenantId);
    const total = (pending.get(tenantId) ?? 0) + count;
    pending.set(tenantId, total);
    if (total >= checkpoints.everyEvents) setImmediate(() => void checkpointSoon(tenantId));
  };
  const checkpointSoon = (tenantId: string) => {
    // A visit: the timer's checkpoints of tenants that were busy a minute ago do not push the
    // tenants busy now out of the open set. A failure is recorded (checkpointed) and retried by
    // the next append or tick; the appends themselves never wait for it.
    running = running.then(() => storage.visitTenant(tenantId, () => checkpointed(tenantId))).catch(() => undefined);
    return running;
  };
  // A checkpoint that cannot be written (a full disk, a directory made read-only, a key that
  // cannot sign) leaves the chain unanchored from then on: recorded as `audit.checkpoint_failed`
  // on the tenant's own trail, which can still take events — once per streak of failures, not
  // on every retry, and again after a success ends the streak (NIST SP 800-92 §4.2: protect
  // the integrity of logs and alert on failures of the logging process; OWASP ASVS 5 V16.4).
  // Per process: a restart in the middle of a streak records it once more.
  const failingCheckpoints = new Set<string>();
  const checkpointAlarm: Actor = { id: 'system:audit-checkpoint', role: 'system', client: 'tresor' };
  async function checkpointed(tenantId: string): Promise<Checkpoint | undefined> {
    try {
      const written = await checkpoint(tenantId);
      failingCheckpoints.delete(tenantId);
      return written;
    } catch (error) {
      if (!failingCheckpoints.has(tenantId)) {
        failingCheckpoints.add(tenantId);
        // The error's code (`EACCES`, `ENOSPC`, `key-provider-failed`), never its message.
        const code = (error as { code?: unknown }).code;
        const detail = typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : 'error';
        await recordEvents(tenantId, [operatorEvent('audit.checkpoint_failed', checkpointAlarm, { outcome: 'failure', detail })]).catch(() => undefined);
      }
      throw error;
    }
  }
  // Per tenant, one at a time: checkpoints and restore marks (a checkpoint must not read the head
  // before a restore and sign it after the restore line), and prunes and restore marks.
  const checkpointing = new Map<string, Promise<unknown>>();
  const pruning = new Map<string, Promise<unknown>>();
  function exclusive<T>(locks: Map<string, Promise<unknown>>, tenantId: string, fn: () => Promise<T>): Promise<T> {
    const run = (locks.get(tenantId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    locks.set(tenantId, tail);
    void tail.then(() => {
      if (locks.get(tenantId) === tail) locks.delete(tenantId);
    });
    return run;
  }
  // What is recorded is in the checkpoint: events still pending (PostgreSQL) are chained first.
  const checkpoint = (tenantId: string) =>
    exclusive(checkpointing, tenantId, async () => {
      await settle(tenantId);
      return checkpointNow(tenantId);
    });
  async function checkpointNow(tenantId: string): Promise<Checkpoint | undefined> {
    pending.delete(tenantId);
    const head = await selectHead(await storage.tenant(tenantId));
    if (head === undefined || head.seq === lastCheckpointed.get(tenantId)) return undefined;
    const written = await appendCheckpoint(checkpointDir(tenantId), await keys.signer('audit'), tenantId, head, clock.now());
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

  const publicKey = (version: number) => keys.signingPublicKey('audit', version);
  const histories = async (tenantId: string) => readHistories(await readCheckpoints(checkpointDir(tenantId), tenantId, publicKey));

  async function verify(tenantId: string): Promise<ChainReport> {
    const log = await histories(tenantId);
    // The live chain belongs to the newest history; the chain is checked from its newest signed
    // retention cut on, against every anchor in effect.
    const { anchors, cut } = inEffect(log.histories.at(-1) as History);
    await settle(tenantId);
    const report = await verifyChain(await storage.tenant(tenantId), tenantId, anchors, undefined, cut);
    return { ...report, findings: [...log.findings, ...report.findings], checkpoints: anchors.length, cut: cut?.seq ?? 0 };
  }

  // Waits until no append of the tenant runs (events of the replaced data set are done with).
  async function quiet(tenantId: string): Promise<void> {
    while (busy(tenantId)) {
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all(inflight);
    }
  }

  async function markRestored(tenantId: string, { snapshotId, actor = { id: 'system:backup-restore', role: 'system', client: 'tresor' } }: { readonly snapshotId: string; readonly actor?: Actor }): Promise<Checkpoint> {
    if (!snapshotIdPattern.test(snapshotId)) throw new TypeError(`invalid snapshot id ${JSON.stringify(snapshotId)}`);
    return exclusive(pruning, tenantId, () =>
      exclusive(checkpointing, tenantId, async () => {
        await quiet(tenantId);
        const db = await storage.tenant(tenantId);
        const head = (await selectHead(db)) ?? { seq: 0, hash: genesis(tenantId) };
        // The history the snapshot was taken in: normally the current one; an earlier one when
        // the snapshot predates an earlier restore.
        const log = await histories(tenantId);
        const parent = (await historyOf(db, log.histories, head.seq)).index;
        const written = await appendCheckpoint(checkpointDir(tenantId), await keys.signer('audit'), tenantId, head, clock.now(), 'tresor-audit-restore/1', { snapshot: snapshotId, parent });
        mirror(written);
        // What this process knew of the replaced chain: counts since its last checkpoint, and
        // the head that checkpoint signed (which the restored chain may reach again, differently).
        pending.delete(tenantId);
        lastCheckpointed.set(tenantId, head.seq);
        // On PostgreSQL the restored data set may hold pending events of its own: chained first.
        await enqueue(tenantId, [operatorEvent('backup.restored', actor, { detail: snapshotId })], true);
        await checkpointNow(tenantId);
        return written;
      }),
    );
  }

  const prune = (tenantId: string, actor: Actor) => exclusive(pruning, tenantId, () => pruneNow(tenantId, actor));
  async function pruneNow(tenantId: string, actor: Actor): Promise<PruneResult> {
    const report = await verify(tenantId);
    // A chain with findings is evidence: nothing of it is deleted until someone looks — and the
    // daily prune is the verification nobody watches, so its findings go on the trail for
    // detection (the prune goes on refusing either way).
    if (report.findings.length > 0) {
      await recordEvents(tenantId, [verifyFailedEvent(report.findings, actor)]).catch(() => undefined);
      return { tenantId, cut: report.cut, deleted: 0, refused: report.findings };
    }
    const db = await storage.tenant(tenantId);
    const cut = await selectRetentionCut(db, report.cut, clock.now().getTime() - retentionDays * 86_400_000);
    if (cut === undefined) return { tenantId, cut: report.cut, deleted: 0 };
    // Signed and synced before anything is deleted: a crash in between leaves extra old events
    // (deleted by the next prune), never a gap that no signed cut explains.
    mirror(await appendCheckpoint(checkpointDir(tenantId), await keys.signer('audit'), tenantId, cut, clock.now(), 'tresor-audit-cut/1'));
    const deleted = await deleteThrough(db, cut.seq);
    await enqueue(tenantId, [operatorEvent('audit.pruned', actor, { detail: `through-${cut.seq}` })], false);
    return { tenantId, cut: cut.seq, deleted };
  }

  return {
    async appendIn(tx, tenantId, input) {
      if (input.length === 0) return;
      const events = input.map(admitEvent);
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
    sweep(tenantIds, everyMs = 60_000, leadership) {
      // SQLite chains every event in the transaction that commits it: nothing is ever pending.
      if (storage.engine === 'sqlite') return { stop: async () => undefined };
      return periodic(
        async (stopped, pause) => {
          await walkTenants(storage, await tenantIds(), async (tenantId) => {
            if (await hasPending(await storage.tenant(tenantId))) await settle(tenantId);
          }, { stopped, pause, spreadMs: everyMs / 2 });
        },
        everyMs,
        0,
        leadership,
      );
    },
    checkpoint: checkpointed,
    ship(sinks, tenantIds, everyMs = 1000) {
      const pending = new Map<string, { sink: string; tenant: string; events: number }>();
      const up = new Map<string, boolean>();
      const retryAt = new Map<string, number>();
      const backoff = new Map<string, number>();
      for (const sink of sinks) mirrors.set(sink.name, []);
      const appended = new Set<string>();
      shipWatch.add(appended);
      const fullEvery = Math.max(1, Math.round(60_000 / everyMs));
      let rounds = 0;
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
        // Each round ships the tenants with new events in this process and those left behind; a
        // full walk every minute (and at start) finds events other processes appended.
        const full = rounds % fullEvery === 0;
        rounds += 1;
        const ids = full ? await tenantIds() : [...appended];
        appended.clear();
        await walkTenants(storage, ids, (tenantId) => shipTenant(tenantId, stopped), { stopped, pause: async () => undefined, spreadMs: 0 });
      }
      async function shipTenant(tenantId: string, stopped: () => boolean): Promise<void> {
        try {
          await shipTenantNow(tenantId, stopped);
        } catch (error) {
          appended.add(tenantId);
          throw error;
        }
      }
      async function shipTenantNow(tenantId: string, stopped: () => boolean): Promise<void> {
        const db = await storage.tenant(tenantId);
        const head = await selectHead(db);
        if (head === undefined) return;
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
          if (cursor < head.seq) appended.add(tenantId);
        }
      }
      const job = periodic(round, everyMs);
      return {
        backlog: () => ({ pending: [...pending.values()], up: [...up].map(([sink, ok]) => ({ sink, up: ok })) }),
        async stop() {
          await job.stop();
          shipWatch.delete(appended);
          for (const sink of sinks) mirrors.delete(sink.name);
          for (const sink of sinks) await sink.close();
        },
      };
    },
    onAppended(listener) {
      appendListeners.add(listener);
      return () => void appendListeners.delete(listener);
    },
    async query(tenantId, filter) {
      await settle(tenantId);
      return selectEvents(await storage.tenant(tenantId), tenantId, filter);
    },
    async close() {
      // Appends already scheduled (reads awaiting theirs, writes just committed) finish first.
      while (appends.running.size > 0 || records.running.size > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all(inflight);
      }
      clearInterval(timer);
      for (const tenantId of [...pending.keys()]) await checkpointSoon(tenantId);
      await running;
    },
    record: recordEvents,
    verify,
    verifyCopy: (db, tenantId) => verifyRestoredChain(db, tenantId, checkpointDir(tenantId), publicKey),
    markRestored,
    prune,
    retain(tenantIds, actor, { firstAfterMs = 600_000, everyMs = 86_400_000, onRefused = () => {}, leadership } = {}) {
      return periodic(
        async (stopped, pause) => {
          // Spread over an hour: each prune verifies the tenant's whole chain.
          await walkTenants(storage, await tenantIds(), async (tenantId) => {
            const result = await prune(tenantId, actor);
            if (result.refused !== undefined) onRefused(result);
          }, { stopped, pause, spreadMs: Math.min(everyMs / 2, 3_600_000) });
        },
        everyMs,
        firstAfterMs,
        leadership,
      );
    },
  };
}

