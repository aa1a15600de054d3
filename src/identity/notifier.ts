import { hkdfSync, randomBytes } from 'node:crypto';
import type { Keys } from '../keys/index.js';
import { open, seal } from '../keys/envelope.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { describeErrorForLog } from '../platform/errors.js';
import type { Tenants } from '../tenants/index.js';
import { claimOutbox, deferOutbox, deleteOutbox, deleteOutboxMessage, insertOutbox, selectDueOutbox, selectUndelivered, type OutboxRow } from './account-store.js';
import { AccountError, setupTokenHours, type Accounts } from './accounts.js';
import { resetMessage, type Message, type MessageKind } from './messages.js';
import { createSourceWindow } from './throttle.js';
import type { SqlDatabase } from '../platform/db/index.js';

/**
 * Messages to people — a password reset link, an invitation — leave Tresor through one
 * interface, `Notifier`: the extension point for a real mail relay (SMTP, a provider's API),
 * which an operator plugs in through `buildApp`'s overrides. The built-in notifier writes each
 * message to the tenant's **outbox** table instead of sending it: for development, and for a
 * relay that reads the outbox. A message carries a live token, so recipient and text are sealed
 * at rest (AES-256-GCM), and neither ever goes into the audit trail or the logs: treat the
 * outbox like a mail spool.
 */

export type { Message, MessageKind } from './messages.js';

export interface Notifier {
  /** Resolves once the message is accepted (stored or handed to the relay); throws if it was not. */
  send(message: Message): Promise<void>;
}

export interface OutboxEntry extends Message {
  readonly id: string;
  readonly createdAt: string;
}

/** The built-in notifier's store, for `tresor outbox list|clear` and tests. */
export interface Outbox {
  /** Undelivered messages of the tenant, oldest first, opened. */
  list(tenantId: string): Promise<OutboxEntry[]>;
  /** Deletes every message of the tenant; how many there were. */
  clear(tenantId: string): Promise<number>;
}

/** A message opened for one delivery try, with the tries before it counted. */
export interface SpooledMessage extends OutboxEntry {
  readonly attempts: number;
}

/** What the mail notifier needs of the outbox: it spools every message here until the relay took it. */
export interface Spool {
  /** Seals and stores the message; its id. */
  put(message: Message): Promise<string>;
  /** Ids of the tenant's messages due for a try. */
  due(tenantId: string): Promise<string[]>;
  /** Takes a message due at `now` (ms) for one try, leasing it until `leaseUntil`; undefined if not due or gone. */
  claim(tenantId: string, id: string, now: number, leaseUntil: number): Promise<SpooledMessage | undefined>;
  /** The try failed: the next one is due at `at` (ms). */
  defer(tenantId: string, id: string, at: number): Promise<void>;
  /** Delivered, or given up: gone from the spool. */
  remove(tenantId: string, id: string): Promise<void>;
}

/**
 * Rows older than this are dropped at the next send: every token a message can carry (setup
 * 72 h, reset 30 min) has expired by then, and a spool should not keep what it no longer needs.
 */
export const outboxKeepHours = setupTokenHours;

export function createOutboxNotifier({ storage, keys, clock }: { storage: Storage; keys: Keys; clock: Clock }): Notifier & Outbox & Spool {
  // Its own key, derived from the tenant's index key like the accounts' email keys (HKDF,
  // RFC 5869, one purpose per key); the AAD binds each ciphertext to its tenant, row and field.
  const key = async (tenantId: string) => Buffer.from(hkdfSync('sha256', await keys.indexKey(tenantId), Buffer.alloc(0), 'tresor/outbox/seal', 32));
  const aad = (tenantId: string, id: string, field: 'recipient' | 'text' | 'html') => `outbox|${tenantId}|${id}|${field}`;
  const opened = (tenantId: string, sealKey: Buffer, row: OutboxRow): SpooledMessage => ({
    id: row.id,
    kind: row.kind as MessageKind,
    tenantId,
    accountId: row.account_id,
    to: open(sealKey, row.recipient_sealed, aad(tenantId, row.id, 'recipient')).toString('utf8'),
    subject: row.subject,
    text: open(sealKey, row.text_sealed, aad(tenantId, row.id, 'text')).toString('utf8'),
    ...(row.html_sealed === null ? {} : { html: open(sealKey, row.html_sealed, aad(tenantId, row.id, 'html')).toString('utf8') }),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    attempts: Number(row.attempts),
  });
  const put = async (message: Message): Promise<string> => {
    const db = await storage.tenant(message.tenantId);
    const sealKey = await key(message.tenantId);
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const now = clock.now().getTime();
    await deleteOutbox(db, now - outboxKeepHours * 3_600_000);
    await insertOutbox(db, {
      id,
      kind: message.kind,
      account_id: message.accountId,
      recipient_sealed: seal(sealKey, Buffer.from(message.to, 'utf8'), aad(message.tenantId, id, 'recipient')),
      subject: message.subject,
      text_sealed: seal(sealKey, Buffer.from(message.text, 'utf8'), aad(message.tenantId, id, 'text')),
      html_sealed: message.html === undefined ? null : seal(sealKey, Buffer.from(message.html, 'utf8'), aad(message.tenantId, id, 'html')),
      created_at: now,
    });
    return id;
  };
  return {
    async send(message) {
      await put(message);
    },
    put,
    async list(tenantId) {
      const db = await storage.tenant(tenantId);
      const sealKey = await key(tenantId);
      return (await selectUndelivered(db)).map((row) => {
        const { attempts: _attempts, html: _html, ...entry } = opened(tenantId, sealKey, row);
        return entry;
      });
    },
    async clear(tenantId) {
      return deleteOutbox(await storage.tenant(tenantId));
    },
    async due(tenantId) {
      return selectDueOutbox(await storage.tenant(tenantId), clock.now().getTime());
    },
    async claim(tenantId, id, now, leaseUntil) {
      const row = await claimOutbox(await storage.tenant(tenantId), id, now, leaseUntil);
      return row === undefined ? undefined : opened(tenantId, await key(tenantId), row);
    },
    async defer(tenantId, id, at) {
      await deferOutbox(await storage.tenant(tenantId), id, at);
    },
    async remove(tenantId, id) {
      await deleteOutboxMessage(await storage.tenant(tenantId), id);
    },
  };
}

/** Per source address: at most this many reset requests in the window (whatever they ask for). */
export const resetRequestLimit = { windowMs: 10 * 60_000, max: 10 } as const;

export interface PasswordResets {
  /**
   * Takes a reset request and answers at once: `429 reset-throttled` when the source address
   * asked too often, otherwise nothing — the lookup, the token and the message happen after
   * the answer, off the request path. So the answer and the work before it are the same for a
   * known account, an unknown email and an unknown or disabled tenant, and its timing tells
   * nothing either (OWASP ASVS 5 V6.3.8; OWASP Forgot Password Cheat Sheet: "consistent
   * response … asynchronous calls").
   */
  request(input: { tenantId: string; email: string; sourceIp: string }): Promise<void>;
  /** Resolves once every request taken so far is done (tests; shutdown). */
  settled(): Promise<void>;
  /** Requests taken so far: each did exactly the same work before its answer. */
  taken(): number;
}

export interface PasswordResetsDeps {
  readonly accounts: Accounts;
  readonly tenants: Tenants;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly publicUrl: string | undefined;
  /** Failures off the request path are logged here (codes and stacks only, never the email or token). */
  readonly log: { error(fields: object, message: string): void };
  /** The platform data set, where the per-address request window is counted. */
  readonly platform: SqlDatabase;
}

export function createPasswordResets({ accounts, tenants, notifier, clock, publicUrl, log, platform }: PasswordResetsDeps): PasswordResets {
  // Counted in the platform data set: every node of a deployment shares each address's budget.
  const limiter = createSourceWindow({ db: platform, clock, kind: 'password-reset', ...resetRequestLimit });
  const pending = new Set<Promise<void>>();
  let taken = 0;
  return {
    async request({ tenantId, email, sourceIp }) {
      const verdict = await limiter.take(sourceIp);
      if (!verdict.allowed) {
        throw new AccountError('reset-throttled', `Too many reset requests from this address; try again in ${verdict.retryAfterSeconds} s.`, {
          status: 429,
          expose: true,
          headers: { 'retry-after': String(verdict.retryAfterSeconds) },
        });
      }
      taken += 1;
      const job = (async () => {
        const tenantActive = (await tenants.get(tenantId))?.status === 'active';
        const issued = await accounts.requestPasswordReset({ tenantId, tenantActive, email, sourceIp });
        if (issued !== undefined) await notifier.send(resetMessage(issued.account, issued.token, publicUrl));
      })()
        .catch((error: unknown) => log.error({ err: describeErrorForLog(error) }, 'password reset request failed'))
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
    taken: () => taken,
  };
}
