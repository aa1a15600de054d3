import type { FastifyInstance } from 'fastify';
import type { Gauge, Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../lazy-require.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

export interface Metrics {
  readonly registry: Registry;
  readonly storageUp: Gauge;
  readonly storagePingSeconds: Gauge;
  /**
   * Pings the storage at every scrape with `ping` (readiness, which sets the two gauges), so
   * `tresor_storage_up` is as fresh as the scrape even where nothing calls /readyz — a load
   * balancer checking /healthz, as the high-availability setup does. Alerting relies on it.
   */
  pingStorageOnScrape(ping: () => Promise<unknown>): void;
}

/**
 * Prometheus metrics on a registry of this app's own (no global default registry, so two apps
 * in one process — tests — never share counters). Labels are route patterns, never raw URLs:
 * ids and search values stay out of metrics.
 */
export function registerHttpMetrics(app: FastifyInstance, options: { readonly process?: number } = {}): Metrics {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tresor_' });
  const requests = new Counter({ name: 'tresor_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'tresor_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Several server processes share one storage and only the process a /readyz reached has pinged
  // it: the best recent answer (a process that fails answers its own /readyz with 503).
  // One ping per scrape, shared by the two gauges (a registry collects its metrics concurrently).
  let ping: (() => Promise<unknown>) | undefined;
  let pinging: Promise<unknown> | undefined;
  const pingOnce = async () => {
    if (ping === undefined) return;
    await (pinging ??= ping()
      .catch(() => undefined)
      .finally(() => (pinging = undefined)));
  };
  const storageUp = new Gauge({ name: 'tresor_storage_up', help: '1 when the last storage ping succeeded', aggregator: 'max', registers: [registry], collect: pingOnce });
  const storagePingSeconds = new Gauge({ name: 'tresor_storage_ping_seconds', help: 'Latency of the last storage ping', aggregator: 'max', registers: [registry], collect: pingOnce });
  // Per server process, by its place (1 … server.processes), so an operator sees the load spread.
  const byProcess =
    options.process === undefined
      ? undefined
      : new Counter({ name: 'tresor_server_process_requests_total', help: 'HTTP requests answered by each server process', labelNames: ['process'], registers: [registry] });
  const processLabel = { process: String(options.process) };

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    byProcess?.inc(processLabel);
  });
  return {
    registry,
    storageUp,
    storagePingSeconds,
    pingStorageOnScrape(readiness) {
      ping = readiness;
    },
  };
}
