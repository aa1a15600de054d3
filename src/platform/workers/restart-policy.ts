/**
 * When a server process that died is started again: at once the first time, then after a delay
 * that doubles with each crash in the window, and not at all once `maxCrashes` fell within
 * `windowMs` — a worker that cannot stay up (a full disk, a corrupt file, a bug hit on every
 * start) stops the server with a non-zero exit instead of looping, so the service manager and
 * the operator see it.
 */
export const restartDefaults = {
  windowMs: 60_000,
  maxCrashes: 5,
  firstDelayMs: 250,
  maxDelayMs: 10_000,
} as const;

export type RestartPolicy = { readonly [K in keyof typeof restartDefaults]: number };

/** The delay before the next start, or `undefined` to give up; `crashes` are the times of the crashes so far, `now` the latest. */
export function restartDelay(crashes: readonly number[], now: number, policy: RestartPolicy = restartDefaults): number | undefined {
  const recent = crashes.filter((at) => now - at < policy.windowMs).length;
  if (recent >= policy.maxCrashes) return undefined;
  if (recent <= 1) return 0;
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (recent - 2));
}
