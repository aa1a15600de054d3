/**
 * A background job of the server: `round` at once (or after `firstAfterMs`), then every
 * `everyMs`, never two rounds at once; a failed round is simply tried again at the next tick.
 * `stopped()` lets a long round end early; `stop()` waits for the round in progress.
 */
export function periodic(round: (stopped: () => boolean) => Promise<void>, everyMs: number, firstAfterMs = 0): { stop(): Promise<void> } {
  let stopped = false;
  let busy: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (busy !== undefined || stopped) return;
    busy = round(() => stopped)
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
