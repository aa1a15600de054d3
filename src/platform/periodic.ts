import type { Leadership } from './leadership.js';

/**
 * A background job of the server: `round` at once (or after `firstAfterMs`), then every
 * `everyMs`, never two rounds at once; a failed round is simply tried again at the next tick.
 * `stopped()` lets a long round end early; `stop()` waits for the round in progress. With a
 * `leadership`, a round runs only on the node that leads at that tick (leadership.ts).
 */
export function periodic(round: (stopped: () => boolean) => Promise<void>, everyMs: number, firstAfterMs = 0, leadership?: Leadership): { stop(): Promise<void> } {
  let stopped = false;
  let busy: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (busy !== undefined || stopped) return;
    const run = async () => {
      if (leadership !== undefined && !(await leadership.held())) return;
      if (!stopped) await round(() => stopped);
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
      clearTimeout(first);
      clearInterval(timer);
      await busy;
    },
  };
}
