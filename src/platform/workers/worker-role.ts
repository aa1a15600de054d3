import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../lazy-require.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/** How the primary tells a worker its place (environment variables it sets on the fork). */
export const workerEnvironment = { index: 'TRESOR_WORKER_INDEX', count: 'TRESOR_WORKER_COUNT', jobs: 'TRESOR_WORKER_JOBS' } as const;

/** A server process's place among the server's processes (`server.processes` > 1). */
export interface WorkerRole {
  /** 1 … count; a replacement takes the place, and the role, of the process it replaces. */
  readonly index: number;
  readonly count: number;
  /** Whether this process runs the scheduled jobs on SQLite (on PostgreSQL the advisory locks decide). */
  readonly jobs: boolean;
  /** Offers this process's metrics to the primary; returns what reads the whole server's, aggregated over its processes. */
  shareMetrics(registry: Registry): () => Promise<string>;
}

/** Messages between a worker and the primary about /metrics (beside prom-client's own). */
export type MetricsQuestion = { readonly tresor: 'metrics?'; readonly id: number };
export type MetricsAnswer = { readonly tresor: 'metrics'; readonly id: number; readonly text?: string; readonly error?: string };

export const isMetricsQuestion = (message: unknown): message is MetricsQuestion => typeof message === 'object' && message !== null && (message as { tresor?: unknown }).tresor === 'metrics?';
const isMetricsAnswer = (message: unknown): message is MetricsAnswer => typeof message === 'object' && message !== null && (message as { tresor?: unknown }).tresor === 'metrics';

/** The primary asks every worker within 5 s (prom-client); the worker waits a little longer for the answer. */
const answerTimeoutMs = 7_000;

/** This process's role when the primary started it as a worker; undefined otherwise. */
export function workerRoleFrom(env: Readonly<Record<string, string | undefined>>): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(env[workerEnvironment.index]);
  const count = Number(env[workerEnvironment.count]);
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 1 || index > count) return undefined;
  return { index, count, jobs: env[workerEnvironment.jobs] === '1', shareMetrics };
}

function shareMetrics(registry: Registry): () => Promise<string> {
  const { AggregatorRegistry } = promClient();
  // Constructing one installs prom-client's answer to the primary's requests in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: unknown) => {
    if (!isMetricsAnswer(message)) return;
    const entry = waiting.get(message.id);
    if (entry === undefined) return;
    waiting.delete(message.id);
    clearTimeout(entry.timer);
    if (message.text !== undefined) entry.resolve(message.text);
    else entry.reject(new Error(message.error ?? 'no answer'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = (next += 1);
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the primary did not answer'));
      }, answerTimeoutMs);
      waiting.set(id, { resolve, reject, timer });
      if (process.connected) process.send?.({ tresor: 'metrics?', id } satisfies MetricsQuestion);
    });
}
