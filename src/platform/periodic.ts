import { setTimeout as delay } from 'node:timers/promises';
import type { Leadership } from './leadership.js';

/**
 * A background job of the server: `round` at once (or after `firstAfterMs`), then every
 * `everyMs`, never two rounds at once; a failed round is simply tried again at the next tick.
 * `stopped()` lets a long round end early, `pause(ms)` spreads a round's work over time (it
 * ends at once on stop); `stop()` waits for the round in progress. With a `leadership`, a round
 * runs only on the node that leads at that tick (leadership.ts).
 */
export function periodic(round: (stopped: () => boolean, pause: (ms: number) => Promise<void>) => Promise<void>, everyMs: number, firstAfterMs = 0, leadership?: Leadership): { stop(): Promise<void> } {
  let stopped = false;
  const stopping = new AbortController();
  const pause = (ms: number) => (ms <= 0 || stopped ? Promise.resolve() : delay(ms, undefined, { signal: stopping.signal, ref: false }).catch(() => undefined));
  let busy: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (busy !== undefined || stopped) return;
    const run = async () => {
      if (leadership !== undefined && !(await leadership.held())) return;
      if (!stopped) await round(() => stopped, pause);
    };
    busy = run()
      .catch(() => undefined)
      .finally(() => (busy = undefined));
  };
  const start = () => {
    tick();
    timer = setInterval(tick, everyMs);
    timer.unref();
  };
  const first = firstAfterMs > 0 ? setTimeout(start, firstAfterMs) : undefined;
  if (first === undefined) start();
  else first.unref();
  return {
    async stop() {
      stopped = true;
      stopping.abort();
      clearTimeout(first);
      clearInterval(timer);
      await busy;
    },
  };
}
