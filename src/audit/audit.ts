import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, SqlExecutor, Storage } from '../platform/db/index.js';
import { AuditError } from './errors.js';
import type { AuditEventInput } from './events.js';
import { appendEvents, type StoredEvent } from './store.js';
import { verifyChain, type Anchor, type VerifyReport } from './verify.js';

export interface Audit {
  /** Appends inside the caller's transaction: the change and its event commit together (or neither). */
  appendIn(tx: SqlExecutor, tenantId: string, events: readonly AuditEventInput[]): Promise<StoredEvent[]>;
  /**
   * Appends and resolves once the events are durable (reads: the response waits for this).
   * Events arriving together share one transaction. Fails with 503 `audit-unavailable`.
   */
  record(tenantId: string, events: readonly AuditEventInput[]): Promise<void>;
  verify(tenantId: string, anchors?: readonly Anchor[]): Promise<VerifyReport>;
}

export interface AuditDeps {
  readonly storage: Storage;
  readonly clock: Clock;
}

/**
 * The audit trail (SPEC L1): a hash chain per tenant in the tenant's own data set. Fail closed:
 * a caller that cannot get its event written gets an error, never a silent skip, and nothing
 * in the configuration turns auditing off.
 */
export function createAudit({ storage, clock }: AuditDeps): Audit {
  const unavailable = (cause: unknown) => new AuditError('audit-unavailable', 'The audit trail cannot be written; nothing was returned or changed. Retry shortly.', { status: 503, expose: true, cause, headers: { 'retry-after': '2' } });

  // Per tenant, the events waiting for the next append transaction.
  const queues = new Map<string, Array<{ events: readonly AuditEventInput[]; resolve: () => void; reject: (error: unknown) => void }>>();

  async function flush(tenantId: string): Promise<void> {
    const batch = queues.get(tenantId) ?? [];
    queues.delete(tenantId);
    try {
      const db: SqlDatabase = await storage.tenant(tenantId);
      await db.transaction((tx) => appendEvents(tx, tenantId, batch.flatMap((b) => b.events), clock.now().getTime()));
      for (const waiter of batch) waiter.resolve();
    } catch (error) {
      for (const waiter of batch) waiter.reject(unavailable(error));
    }
  }

  return {
    async appendIn(tx, tenantId, events) {
      try {
        return await appendEvents(tx, tenantId, events, clock.now().getTime());
      } catch (error) {
        throw unavailable(error);
      }
    },
    record(tenantId, events) {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let queue = queues.get(tenantId);
        if (queue === undefined) {
          queue = [];
          queues.set(tenantId, queue);
          // Everything recorded in this turn of the event loop joins one append.
          setImmediate(() => void flush(tenantId));
        }
        queue.push({ events, resolve, reject });
      });
    },
    async verify(tenantId, anchors = []) {
      return verifyChain(await storage.tenant(tenantId), tenantId, anchors);
    },
  };
}
