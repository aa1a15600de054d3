import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { walkTenants } from '../platform/walk-tenants.js';

/** What is kept after it stopped working: a day, so that support can still see a just-expired link or session. */
const graceMs = 24 * 3_600_000;

/**
 * Removes what can no longer be used from each realm's data set: spent or expired setup, reset
 * and second-factor tokens and WebAuthn challenges, and ended sessions (expired, idle past
 * their timeout, or revoked). Every login adds a session row and every sign-in step a token row,
 * so without this they would grow forever; the audit trail keeps the history of both.
 */
export async function sweepIdentity(storage: Storage, realm: string, clock: Clock, idleMinutes: number): Promise<{ tokens: number; sessions: number }> {
  const db = await storage.tenant(realm);
  const before = clock.now().getTime() - graceMs;
  const tokens = await db.execute(`DELETE FROM ${db.table('account_tokens')} WHERE expires_at < ? OR used_at < ?`, [before, before]);
  const sessions = await db.execute(`DELETE FROM ${db.table('sessions')} WHERE expires_at < ? OR revoked_at < ? OR last_seen_at < ?`, [before, before, before - idleMinutes * 60_000]);
  return { tokens, sessions };
}

/**
 * The server's hourly sweep over every realm (each tenant, and the operators'). `alsoPerRealm`:
 * more work on each realm's data set while it is open — the mail relay's retry of messages left
 * waiting by a restart (mail-notifier.ts).
 */
export function sweepIdentityPeriodically(
  storage: Storage,
  realms: () => Promise<string[]>,
  clock: Clock,
  idleMinutes: number,
  everyMs = 3_600_000,
  leadership?: Leadership,
  firstAfterMs = 60_000,
  alsoPerRealm?: (realm: string) => Promise<void>,
): { stop(): Promise<void> } {
  return periodic(
    async (stopped, pause) => {
      await walkTenants(
        storage,
        await realms(),
        async (realm) => {
          await sweepIdentity(storage, realm, clock, idleMinutes);
          await alsoPerRealm?.(realm);
        },
        { stopped, pause, spreadMs: everyMs / 2 },
      );
    },
    everyMs,
    firstAfterMs,
    leadership,
  );
}
