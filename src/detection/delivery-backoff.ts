/** How a target retries: the first wait, the longest, how long after the change it gives up, the jitter (a fraction). */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
  readonly giveUpMs: number;
  readonly jitter: number;
}

/**
 * When to try again after failed attempt `attempt` (1, 2, …) made at `at`: `firstMs` doubling per
 * attempt up to `maxMs`, spread by ±`jitter` so that receivers coming back after an outage are not
 * hit by every sender at once (exponential backoff with jitter); undefined once that would be
 * past `giveUpMs` after the change (`createdAt`). `random` is in [0, 1).
 */
export function nextAttemptAt(backoff: Backoff, attempt: number, at: number, createdAt: number, random: number): number | undefined {
  const base = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(attempt - 1, 40));
  const wait = Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random));
  return at + wait - createdAt > backoff.giveUpMs ? undefined : at + wait;
}
