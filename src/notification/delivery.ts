import { randomBytes } from 'node:crypto';
import type { Message, Notifier } from '../identity/index.js';
import type { SqlExecutor } from '../platform/db/index.js';
import { selectDeliveries, upsertDelivery, type DeliveryRow } from './drafts-store.js';

/** One recipient of a send, decided before anything goes out. */
export type Planned =
  | { readonly recipient: string; readonly channel: 'email'; readonly message: (messageId: string) => Message }
  | { readonly recipient: string; readonly channel: 'post' | 'unreachable' | 'filed'; readonly code: string | null };

export interface SendTally {
  readonly email: number;
  readonly failed: number;
  readonly post: number;
  readonly unreachable: number;
  readonly filed: number;
  /** Recipients already done by an earlier send: not sent again. */
  readonly skipped: number;
}

/** Statuses after which a recipient is done: a later send leaves them alone. */
const done = new Set<DeliveryRow['status']>(['queued', 'batched', 'unreachable', 'filed']);

/** The code of a refusal, never its text (an SMTP answer's text can quote the address). */
function codeOf(error: unknown): string {
  const { responseCode, code } = (error ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number') return String(responseCode);
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(code)) return code;
  return 'refused';
}

/**
 * Sends a draft to its planned recipients, one at a time, each outcome logged before the next:
 * resumable — a recipient already logged as done (mail taken by the notifier, letter batched,
 * counted unreachable) is skipped, so a send interrupted by a crash or a relay refusing goes on
 * with the rest when started again, and a failure is tried again. The one window left is a
 * crash between the notifier taking a mail and its log row: that recipient would get the mail
 * twice, which we prefer to a patient never told (GDPR Art. 34, HIPAA 164.404).
 */
export async function deliver(db: SqlExecutor, draftId: string, plan: readonly Planned[], notifier: Notifier, now: () => number): Promise<SendTally> {
  const before = new Map((await selectDeliveries(db, draftId)).map((row) => [`${row.channel}|${row.recipient}`, row]));
  const tally = { email: 0, failed: 0, post: 0, unreachable: 0, filed: 0, skipped: 0 };
  for (const item of plan) {
    const earlier = before.get(`${item.channel}|${item.recipient}`);
    if (earlier !== undefined && done.has(earlier.status)) {
      tally.skipped += 1;
      continue;
    }
    if (item.channel !== 'email') {
      const status = item.channel === 'post' ? 'batched' : item.channel;
      await upsertDelivery(db, { draftId, recipient: item.recipient, channel: item.channel, status, code: item.code, messageId: null, at: now() });
      tally[item.channel] += 1;
      continue;
    }
    // The notice's own id, in the mail and in the log: the relay's queue and a complaint can be matched to the row.
    const messageId = `notice-${randomBytes(9).toString('base64url')}`;
    try {
      await notifier.send(item.message(messageId));
      await upsertDelivery(db, { draftId, recipient: item.recipient, channel: 'email', status: 'queued', code: null, messageId, at: now() });
      tally.email += 1;
    } catch (error) {
      await upsertDelivery(db, { draftId, recipient: item.recipient, channel: 'email', status: 'failed', code: codeOf(error), messageId, at: now() });
      tally.failed += 1;
    }
  }
  return tally;
}
