import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';
import type { Rotation } from './rotation.js';
import type { RotationJob } from './store.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/**
 * Rotation progress in /metrics, read from the job table at scrape time, so it shows the job
 * wherever it runs (this server, another node, or the admin CLI). Labels carry the scope and
 * tenant id only.
 */
export function registerRotationMetrics(registry: Registry, rotation: Rotation): void {
  const { Gauge } = promClient();
  // One query per scrape, shared by the gauges below.
  let cached: { at: number; jobs: Promise<RotationJob[]> } | undefined;
  const jobs = () => {
    if (cached === undefined || performance.now() - cached.at > 500) cached = { at: performance.now(), jobs: rotation.recent() };
    return cached.jobs;
  };
  const labels = (job: RotationJob) => ({ scope: job.scope, tenant: job.tenantId ?? '' });
  const gauge = (name: string, help: string, value: (job: RotationJob) => number | undefined, extraLabels: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames: ['scope', 'tenant', ...extraLabels],
      // Read from the shared job table: every server process reports the same value.
      aggregator: 'max',
      registers: [registry],
      async collect() {
        this.reset();
        for (const job of await jobs()) {
          const v = value(job);
          if (v !== undefined) this.set(labels(job), v);
        }
      },
    });
  gauge('tresor_key_rotation_running', '1 while a key rotation job is unfinished, 0 for the last finished one', (job) => (job.finishedAt === undefined ? 1 : 0));
  gauge('tresor_key_rotation_generation', 'The key version the newest rotation job moves data to', (job) => job.generation);
  gauge('tresor_key_rotation_rows_total', 'Stored versions (tenant) or tenant keys (master) the job has to move', (job) => job.rowsTotal);
  gauge('tresor_key_rotation_rows_done', 'Stored versions or tenant keys moved so far', (job) => job.rowsDone);
  gauge('tresor_key_rotation_fields_done', 'Encrypted fields re-encrypted so far (tenant keys re-wrapped, for master)', (job) => job.fieldsDone);
  gauge('tresor_key_rotation_rows_failed', 'Stored versions that failed their integrity check and keep their old key', (job) => job.rowsFailed);
  gauge('tresor_key_rotation_progress_ratio', 'Share of the job done, 0 to 1', (job) => (job.finishedAt !== undefined ? 1 : job.rowsTotal === 0 ? 0 : job.rowsDone / job.rowsTotal));
  gauge('tresor_key_rotation_finished_timestamp_seconds', 'When the last rotation of the scope finished', (job) => (job.finishedAt === undefined ? undefined : job.finishedAt / 1000));
}
