import type { MailTransport } from '../mail/index.js';
import type { Clock } from '../platform/clock.js';
import { describeErrorForLog } from '../platform/errors.js';
import { resetTokenMinutes, setupTokenHours } from './accounts.js';
import type { MessageKind } from './messages.js';
import type { Notifier, Spool } from './notifier.js';

/**
 * Messages to people through an SMTP relay, without losing one: `send` seals the message into
 * the tenant's outbox first (a spool, like a mail server's queue) and answers; delivery follows
 * off the request path. The relay taking it deletes it from the outbox. A relay that is down or
 * refuses leaves it there, and it is tried again after `retryFirstMs`, then twice as long each
 * time (at most {@link maxRetryMs}), until its token has expired — then it is dropped with an
 * error in the log (who it was for, by account id; never the address or the token), since the
 * link in it no longer works and the person needs a new invitation or reset anyway.
 *
 * Why not fail the request instead: the password reset answers before it knows whether the
 * account exists (notifier.ts), so a relay failure there cannot reach the answer without making
 * it an account-enumeration oracle; one behaviour for both kinds is simpler to run. An invitation
 * answers 201 once the message is safely spooled.
 *
 * Several server processes share the outbox: each try leases its row first (claimOutbox), so a
 * message goes out once even when two processes retry. After a restart, a waiting message of a
 * tenant is tried again with that tenant's next message, or by {@link MailDelivery.sweep}, which
 * the server's hourly identity sweep runs over every realm (housekeeping.ts).
 */

/** How long the token in a message of each kind is valid: no point delivering it after that. */
// An alert carries no token: it is worth delivering as long as the outbox keeps it (72 h).
const lifetimeMs: Readonly<Record<MessageKind, number>> = { 'password-reset': resetTokenMinutes * 60_000, invitation: setupTokenHours * 3_600_000, alert: setupTokenHours * 3_600_000, incident: setupTokenHours * 3_600_000, 'privacy-request': setupTokenHours * 3_600_000, erasure: setupTokenHours * 3_600_000 };

/** The longest wait between two tries. */
export const maxRetryMs = 15 * 60_000;

export interface MailDelivery {
  /** Tries every due message of the tenant (after a restart, say); resolves when those tries are done. */
  sweep(tenantId: string): Promise<void>;
  /** Resolves once every try started so far has finished (tests; shutdown). */
  settled(): Promise<void>;
  /** Stops the retry timers and waits for tries under way; waiting messages stay in the outbox. */
  close(): Promise<void>;
}

export interface MailNotifierDeps {
  readonly spool: Spool;
  readonly transport: MailTransport;
  readonly clock: Clock;
  readonly retryFirstMs: number;
  /** Longer than one try can take (the relay's connection, greeting and socket timeouts together). */
  readonly leaseMs: number;
  /** Ids, kinds, counts and error codes only: never the recipient, the text or the token. */
  readonly log: { warn(fields: object, message: string): void; error(fields: object, message: string): void; info(fields: object, message: string): void };
}

export function createMailNotifier({ spool, transport, clock, retryFirstMs, leaseMs, log }: MailNotifierDeps): Notifier & MailDelivery {
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const backoff = (attempts: number) => Math.min(maxRetryMs, retryFirstMs * 2 ** Math.max(0, attempts - 1));

  const track = (work: Promise<void>) => {
    const job = work.catch((error: unknown) => log.error({ event: 'mail.failed', err: describeErrorForLog(error) }, 'mail delivery failed')).finally(() => pending.delete(job));
    pending.add(job);
    return job;
  };

  const later = (tenantId: string, id: string, at: number, delayMs: number) => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void track(attempt(tenantId, id, at));
    }, delayMs);
    // A waiting retry never keeps a command or a stopping server alive: the message waits in the outbox.
    timer.unref();
    timers.add(timer);
  };

  /** `dueAt`: the time this process deferred it to — its timer fired, so that time has come, whatever the (injected) clock says. */
  async function attempt(tenantId: string, id: string, dueAt = 0): Promise<void> {
    const now = Math.max(clock.now().getTime(), dueAt);
    // The lease covers the try itself (another process leaves the row alone meanwhile); a process
    // that dies mid-try leaves it due again after that.
    const message = await spool.claim(tenantId, id, now, now + leaseMs);
    if (message === undefined) return; // delivered, dropped, or another process has it
    const fields = { event: 'mail.sent', tenant: tenantId, messageId: id, kind: message.kind, account: message.accountId, attempt: message.attempts };
    if (now - Date.parse(message.createdAt) > lifetimeMs[message.kind]) {
      await spool.remove(tenantId, id);
      log.error({ ...fields, event: 'mail.undeliverable' }, 'the mail relay did not take this message before its link expired; it was dropped (send a new invitation or reset)');
      return;
    }
    try {
      await transport.send({ to: message.to, subject: message.subject, text: message.text, html: message.html });
    } catch (error) {
      const wait = backoff(message.attempts);
      // Only the code: an SMTP error's text can quote the recipient's address.
      const err = describeErrorForLog(error);
      const { responseCode } = error as { responseCode?: unknown };
      log.warn({ ...fields, event: 'mail.deferred', retryInSeconds: Math.round(wait / 1000), err: { type: err['type'], code: err['code'], responseCode: typeof responseCode === 'number' ? responseCode : undefined } }, 'the mail relay did not take the message; it waits in the outbox');
      await spool.defer(tenantId, id, now + wait);
      later(tenantId, id, now + wait, wait);
      return;
    }
    await spool.remove(tenantId, id);
    log.info(fields, 'message handed to the mail relay');
  }

  const sweep = async (tenantId: string) => {
    for (const id of await spool.due(tenantId)) await track(attempt(tenantId, id));
  };

  return {
    async send(message) {
      const id = await spool.put(message);
      // Delivery after the answer; this tenant's earlier waiting messages go with it.
      void track(attempt(message.tenantId, id).then(() => sweep(message.tenantId)));
    },
    sweep,
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      while (pending.size > 0) await Promise.all(pending);
      transport.close();
    },
  };
}
