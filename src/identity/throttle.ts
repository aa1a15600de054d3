import type { Clock } from '../platform/clock.js';
import type { SqlDatabase } from '../platform/db/index.js';

/**
 * Login throttling against guessing, spraying and stuffing (NIST SP 800-63B-4 §3.2.2; OWASP
 * ASVS 5 V6.1.1, V6.3.1):
 *
 * - **Per account** (the submitted identifier, whether or not such an account exists, so that
 *   throttling tells nothing about existence): the first {@link throttlePolicy.freeFailures}
 *   consecutive failures cost nothing; after that each attempt waits 1 s, 2 s, 4 s … up to
 *   15 min after the last failure; at 100 consecutive failures (NIST's ceiling) the account is
 *   locked until an administrator or a password reset unlocks it. A success starts over.
 *   Counted in the platform data set, so every node and restart sees the same count.
 * - **Per source address**: more than 100 failures within 10 minutes and that address is
 *   refused until the window has passed — spraying one password over many accounts from one
 *   place. Kept in this process's memory (per node).
 *
 * `account` must be a keyed hash of the identifier as submitted (the caller's), never the
 * identifier itself: the table is then no list of who tried to log in.
 */
export const throttlePolicy = {
  freeFailures: 5,
  maxDelayMs: 15 * 60_000,
  lockAfterFailures: 100,
  sourceWindowMs: 10 * 60_000,
  sourceMaxFailures: 100,
  /** Unlocked rows idle this long are forgotten. */
  forgetAfterMs: 24 * 60 * 60_000,
} as const;

export type ThrottleVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: 'delay' | 'locked' | 'source'; readonly retryAfterSeconds: number };

export interface LoginThrottle {
  /** Before any password work: may this attempt go ahead now? */
  check(account: string, sourceIp: string): Promise<ThrottleVerdict>;
  /** After a failed attempt; resolves with whether the account is now locked. */
  failed(account: string, sourceIp: string): Promise<{ readonly locked: boolean; readonly failures: number }>;
  /** After a successful one: the account's count starts over. */
  succeeded(account: string): Promise<void>;
  /** An administrator's unlock, or a completed password reset. */
  unlock(account: string): Promise<void>;
}

/** Seconds to wait after `failures` consecutive failures, counted from the last one. */
export function delayAfter(failures: number): number {
  if (failures < throttlePolicy.freeFailures) return 0;
  return Math.min(throttlePolicy.maxDelayMs, 1000 * 2 ** (failures - throttlePolicy.freeFailures));
}

export function createLoginThrottle({ db, clock }: { db: SqlDatabase; clock: Clock }): LoginThrottle {
  const table = db.table('login_throttle');
  const sources = new Map<string, number[]>();
  let sinceForget = 0;
  const recent = (sourceIp: string, now: number) => {
    const times = (sources.get(sourceIp) ?? []).filter((at) => now - at < throttlePolicy.sourceWindowMs);
    if (times.length === 0) sources.delete(sourceIp);
    else sources.set(sourceIp, times);
    return times;
  };
  return {
    async check(account, sourceIp) {
      const now = clock.now().getTime();
      const fromSource = recent(sourceIp, now);
      if (fromSource.length >= throttlePolicy.sourceMaxFailures) {
        return { allowed: false, reason: 'source', retryAfterSeconds: Math.ceil(((fromSource[0] as number) + throttlePolicy.sourceWindowMs - now) / 1000) };
      }
      const row = (await db.query<{ failures: number | string; last_failure_at: number | string; locked: number | string }>(`SELECT failures, last_failure_at, locked FROM ${table} WHERE subject = ?`, [account]))[0];
      if (row === undefined) return { allowed: true };
      if (Number(row.locked) === 1) return { allowed: false, reason: 'locked', retryAfterSeconds: 0 };
      const wait = Number(row.last_failure_at) + delayAfter(Number(row.failures)) - now;
      return wait > 0 ? { allowed: false, reason: 'delay', retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
    },
    async failed(account, sourceIp) {
      const now = clock.now().getTime();
      const fromSource = recent(sourceIp, now);
      fromSource.push(now);
      sources.set(sourceIp, fromSource);
      const row = (
        await db.query<{ failures: number | string; locked: number | string }>(
            `INSERT INTO ${table} (subject, failures, last_failure_at, locked) VALUES (?, 1, ?, 0)
             ON CONFLICT (subject) DO UPDATE SET failures = ${table}.failures + 1, last_failure_at = excluded.last_failure_at,
               locked = CASE WHEN ${table}.failures + 1 >= ? THEN 1 ELSE ${table}.locked END
             RETURNING failures, locked`,
          [account, now, throttlePolicy.lockAfterFailures],
        )
      )[0];
      // Identifiers nobody uses would pile up (a spray of random names): forget idle, unlocked ones now and then.
      sinceForget += 1;
      if (sinceForget >= 1000) {
        sinceForget = 0;
        await db.execute(`DELETE FROM ${table} WHERE locked = 0 AND last_failure_at < ?`, [now - throttlePolicy.forgetAfterMs]);
      }
      return { locked: Number(row?.locked) === 1, failures: Number(row?.failures) };
    },
    async succeeded(account) {
      await db.execute(`DELETE FROM ${table} WHERE subject = ? AND locked = 0`, [account]);
    },
    async unlock(account) {
      await db.execute(`DELETE FROM ${table} WHERE subject = ?`, [account]);
    },
  };
}

/**
 * Requests that are not sign-ins but cost something or reach a person — a password reset sends
 * a message — are limited per source address: at most `max` in any `windowMs`, counted whether
 * or not they find an account, so the limit tells nothing about which accounts exist (OWASP
 * ASVS 5 V6.3.1 for the reset flow; OWASP Forgot Password Cheat Sheet). In this process's
 * memory, like the per-address login limit.
 */
export interface RateLimiter {
  /** Counts a request from `source`, or refuses it (not counted) when the window is full. */
  take(source: string): ThrottleVerdict;
}

export function createRateLimiter({ clock, windowMs, max }: { clock: Clock; windowMs: number; max: number }): RateLimiter {
  const seen = new Map<string, number[]>();
  let sinceSweep = 0;
  return {
    take(source) {
      const now = clock.now().getTime();
      // Addresses that went quiet would pile up: forget them now and then.
      sinceSweep += 1;
      if (sinceSweep >= 1000) {
        sinceSweep = 0;
        for (const [key, times] of seen) if (times.every((at) => now - at >= windowMs)) seen.delete(key);
      }
      const times = (seen.get(source) ?? []).filter((at) => now - at < windowMs);
      if (times.length >= max) {
        seen.set(source, times);
        return { allowed: false, reason: 'source', retryAfterSeconds: Math.max(1, Math.ceil(((times[0] as number) + windowMs - now) / 1000)) };
      }
      times.push(now);
      seen.set(source, times);
      return { allowed: true };
    },
  };
}
