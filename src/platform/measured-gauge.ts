import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { lazyRequire } from './lazy-require.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/**
 * An unlabelled gauge read at each scrape that is left out of /metrics while its value has never
 * been measured, rather than shown as 0: "the last backup ran in 1970" or "RPO 0 s" would be a
 * wrong answer where there is none (prom-client resets an unlabelled gauge to 0). `aggregator:
 * 'max'`: the value is read from a record every server process shares, so each reports the same.
 */
export function measuredGauge(registry: Registry, name: string, help: string, read: () => number | undefined | Promise<number | undefined>): void {
  const { Gauge } = promClient();
  let measured = false;
  new (class extends Gauge {
    override async get() {
      const metric = await super.get();
      return measured ? metric : { ...metric, values: [] };
    }
  })({
    name,
    help,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      const value = await read();
      measured = value !== undefined;
      this.set(value ?? 0);
    },
  });
}
