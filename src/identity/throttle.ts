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
 * - **Per source address, per tenant**: more than 100 failures at one tenant within 10 minutes
 *   and that address is refused at that tenant until the window has passed — spraying one
 *   password over many accounts from one place. Other tenants' people behind the same address
 *   (a hospital group's NAT, a shared proxy) are not locked out by it.
 * - **Per source address, globally**: more than 500 failures at all tenants together within the
 *   window and the address is refused everywhere — spraying across tenants. Both counted in the
 *   platform data set ({@link createSourceWindow}), so several nodes behind a load balancer share
 *   one budget per address.
 *
 * `account` must be a keyed hash of the identifier as submitted (the caller's), never the
 * identifier itself: the table is then no list of who tried to log in.
 */
export const throttlePolicy = {
  freeFailures: 5,
  maxDelayMs: 15 * 60_000,
  lockAfterFailures: 100,
  sourceWindowMs: 10 * 60_000,
  /** Per address at one tenant: that tenant's budget decides first. */
  sourceMaxFailures: 100,
  /** Per address at all tenants together: the ceiling against spraying across tenants. */
  sourceCeilingFailures: 500,
  /**
   * Refusals recorded in the audit trail per address at one tenant within the window: enough
   * for detection to see an attacker who keeps knocking at the throttle, few enough that a
   * refused flood (no password work, so cheap to send) cannot flood the trail.
   */
  auditedRefusals: 20,
  /** Unlocked rows idle this long are forgotten. */
  forgetAfterMs: 24 * 60 * 60_000,
} as const;

export type ThrottleVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: 'delay' | 'locked' | 'source'; readonly retryAfterSeconds: number };

export interface LoginThrottle {
  /** Before any password work: may this attempt at `tenant` go ahead now? */
  check(account: string, sourceIp: string, tenant: string): Promise<ThrottleVerdict>;
  /** After a failed attempt at `tenant`; resolves with whether the account is now locked. */
  failed(account: string, sourceIp: string, tenant: string): Promise<{ readonly locked: boolean; readonly failures: number }>;
  /** After a successful one: the account's count starts over. */
  succeeded(account: string): Promise<void>;
  /** An administrator's unlock, or a completed password reset. */
  unlock(account: string): Promise<void>;
  /** After a refusal: whether to record it in the trail ({@link throttlePolicy.auditedRefusals} per address and tenant per window). */
  auditRefusal(sourceIp: string, tenant: string): Promise<boolean>;
}

/** Seconds to wait after `failures` consecutive failures, counted from the last one. */
export function delayAfter(failures: number): number {
  if (failures < throttlePolicy.freeFailures) return 0;
  return Math.min(throttlePolicy.maxDelayMs, 1000 * 2 ** (failures - throttlePolicy.freeFailures));
}

export function createLoginThrottle({ db, clock }: { db: SqlDatabase; clock: Clock }): LoginThrottle {
  const table = db.table('login_throttle');
  const perTenant = createSourceWindow({ db, clock, kind: 'login-failure-tenant', windowMs: throttlePolicy.sourceWindowMs, max: throttlePolicy.sourceMaxFailures });
  const global = createSourceWindow({ db, clock, kind: 'login-failure', windowMs: throttlePolicy.sourceWindowMs, max: throttlePolicy.sourceCeilingFailures });
  const audited = createSourceWindow({ db, clock, kind: 'login-refusal-audited', windowMs: throttlePolicy.sourceWindowMs, max: throttlePolicy.auditedRefusals });
  // Tenant ids have no `|` (tenant-id.ts): the pair cannot be confused with another.
  const atTenant = (tenant: string, sourceIp: string) => `${tenant}|${sourceIp}`;
  let sinceForget = 0;
  return {
    async check(account, sourceIp, tenant) {
      const now = clock.now().getTime();
      const fromTenant = await perTenant.check(atTenant(tenant, sourceIp));
      if (!fromTenant.allowed) return fromTenant;
      const fromSource = await global.check(sourceIp);
      if (!fromSource.allowed) return fromSource;
      const row = (await db.query<{ failures: number | string; last_failure_at: number | string; locked: number | string }>(`SELECT failures, last_failure_at, locked FROM ${table} WHERE subject = ?`, [account]))[0];
      if (row === undefined) return { allowed: true };
      if (Number(row.locked) === 1) return { allowed: false, reason: 'locked', retryAfterSeconds: 0 };
      const wait = Number(row.last_failure_at) + delayAfter(Number(row.failures)) - now;
      return wait > 0 ? { allowed: false, reason: 'delay', retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
    },
    async failed(account, sourceIp, tenant) {
      const now = clock.now().getTime();
      await perTenant.add(atTenant(tenant, sourceIp));
      await global.add(sourceIp);
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
    async auditRefusal(sourceIp, tenant) {
      return (await audited.take(atTenant(tenant, sourceIp))).allowed;
    },
  };
}

/**
 * A window of events per source address (`kind`: login failures, password-reset requests), kept
 * in the platform data set so that every node of a deployment counts the same events (issue 8:
 * rate limits in the database, not in a process). At most `max` in any `windowMs`. Rows older
 * than the window are deleted as new ones come (every 500th add), so an address is stored no
 * longer than the window needs it (storage limitation). Two nodes counting at the same instant
 * may let one event over the limit; the limit is a brake, not an exact quota.
 */
export interface SourceWindow {
  /** Whether `source` is under the limit now (nothing counted). */
  check(source: string): Promise<ThrottleVerdict>;
  /** Counts one event of `source`. */
  add(source: string): Promise<void>;
  /** Counts one event, or refuses it (not counted) when the window is full. */
  take(source: string): Promise<ThrottleVerdict>;
}

export function createSourceWindow({ db, clock, kind, windowMs, max }: { db: SqlDatabase; clock: Clock; kind: string; windowMs: number; max: number }): SourceWindow {
  const table = db.table('source_events');
  let sinceSweep = 0;
  const check = async (source: string): Promise<ThrottleVerdict> => {
    const now = clock.now().getTime();
    const row = (await db.query<{ n: number | string; oldest: number | string | null }>(`SELECT count(*) AS n, min(at) AS oldest FROM ${table} WHERE kind = ? AND source = ? AND at > ?`, [kind, source, now - windowMs]))[0];
    if (Number(row?.n ?? 0) < max) return { allowed: true };
    return { allowed: false, reason: 'source', retryAfterSeconds: Math.max(1, Math.ceil((Number(row?.oldest ?? now) + windowMs - now) / 1000)) };
  };
  const add = async (source: string) => {
    const now = clock.now().getTime();
    await db.execute(`INSERT INTO ${table} (kind, source, at) VALUES (?, ?, ?)`, [kind, source, now]);
    sinceSweep += 1;
    if (sinceSweep >= 500) {
      sinceSweep = 0;
      await db.execute(`DELETE FROM ${table} WHERE kind = ? AND at <= ?`, [kind, now - windowMs]);
    }
  };
  return {
    check,
    add,
    async take(source) {
      const verdict = await check(source);
      if (verdict.allowed) await add(source);
      return verdict;
    },
  };
}
