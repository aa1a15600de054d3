import cluster, { type Worker } from 'node:cluster';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../lazy-require.js';
import { restartDefaults, restartDelay, type RestartPolicy } from './restart-policy.js';
import { isMetricsQuestion, workerEnvironment, type MetricsAnswer } from './worker-role.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

export const supervisionDefaults = {
  /** How long the workers have to drain their requests and close storage after SIGTERM. */
  stopTimeoutMs: 30_000,
} as const;

export interface SupervisionOptions {
  /** Server processes to run (`server.processes`). */
  readonly count: number;
  /** The command line each runs: this process's entry point with these arguments (`start …`). */
  readonly argv: readonly string[];
  /** SQLite's `server.pid`: this process's id while it runs (the CLI's "a server holds these files"). */
  readonly pidFile?: string | undefined;
  /** One line for the operator (stderr): starts, deaths, restarts; never request data. */
  readonly log: (line: string) => void;
  readonly stopTimeoutMs?: number;
  readonly restart?: RestartPolicy;
}

export interface Supervision {
  /** Resolves once every worker listens; rejects when one could not start (the others are stopped). */
  readonly ready: Promise<void>;
  /** SIGTERM to every worker, then waits for them (SIGKILL after the stop timeout; then it rejects). */
  stop(): Promise<void>;
  /** Resolves with an exit code when the server stopped by itself: workers that kept crashing. */
  readonly finished: Promise<number>;
}

/**
 * The primary of `tresor start` with `server.processes` > 1: it builds no app and opens no data.
 * Workers run the normal server; connections are handed out round-robin. The first worker starts
 * alone and the others only once it listens, because it is the one that creates the data
 * directory's files (master key, certificate, data sets, migrations): two processes never race
 * to create them. Worker 1 runs the scheduled jobs, and so does whatever replaces it.
 */
export function superviseWorkers(options: SupervisionOptions): Supervision {
  const { count, pidFile, log } = options;
  const stopTimeoutMs = options.stopTimeoutMs ?? supervisionDefaults.stopTimeoutMs;
  const policy = options.restart ?? restartDefaults;
  // Round-robin in the primary rather than the kernel's accept() races between processes,
  // which on Linux hand most connections to one of them (Node's documented default here).
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ args: [...options.argv] });
  if (pidFile !== undefined) {
    mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
    writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  }

  // /metrics: a worker asks, the primary gathers every worker's registry and aggregates.
  const { AggregatorRegistry } = promClient();
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMetricsQuestion(message)) return;
    const reply = (answer: MetricsAnswer) => {
      if (worker.isConnected()) worker.send(answer);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ tresor: 'metrics', id: message.id, text }),
      () => reply({ tresor: 'metrics', id: message.id, error: 'a worker did not answer' }),
    );
  });

  const slots = new Map<number, Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  const crashes: number[] = [];
  let started = false;
  let stopping: Promise<void> | undefined;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [workerEnvironment.index]: String(index), [workerEnvironment.count]: String(count), [workerEnvironment.jobs]: index === 1 ? '1' : '0' });
    slots.set(index, worker);
    worker.on('exit', (code, signal) => exited(index, worker, code, signal));
    return worker;
  };
  const listening = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', (code, signal) => reject(new Error(`server process ${worker.process.pid ?? ''} exited before it listened (${signal ?? `code ${code}`})`)));
    });
  const exited = (index: number, worker: Worker, code: number | null, signal: string | null) => {
    if (slots.get(index) !== worker) return;
    slots.delete(index);
    if (stopping !== undefined || !started) return;
    const now = Date.now();
    crashes.push(now);
    const delay = restartDelay(crashes, now, policy);
    const how = signal ?? `code ${code}`;
    if (delay === undefined) {
      log(`server process ${index} (pid ${worker.process.pid ?? '?'}) exited (${how}); ${policy.maxCrashes} exits within ${policy.windowMs / 1000} s: stopping the server`);
      void stop().then(
        () => finish(1),
        () => finish(1),
      );
      return;
    }
    log(`server process ${index} (pid ${worker.process.pid ?? '?'}) exited (${how}); starting another${delay > 0 ? ` in ${delay} ms` : ''}${index === 1 ? ' (it runs the scheduled jobs)' : ''}`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (stopping === undefined) listening(fork(index)).catch(() => undefined);
    }, delay);
    restarts.add(timer);
  };

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const timer of restarts) clearTimeout(timer);
      restarts.clear();
      const workers = [...slots.values()];
      const exits = workers.map((w) => (w.isDead() ? Promise.resolve() : new Promise<void>((resolve) => w.once('exit', () => resolve()))));
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        for (const w of workers) {
          if (w.isDead()) continue;
          killed = true;
          w.process.kill('SIGKILL');
        }
      }, stopTimeoutMs);
      await Promise.all(exits);
      clearTimeout(timer);
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
      if (killed) throw new Error(`server processes did not stop within ${stopTimeoutMs / 1000} s and were killed`);
    })());

  const ready = (async () => {
    try {
      await listening(fork(1));
      await Promise.all(Array.from({ length: count - 1 }, (_, n) => listening(fork(n + 2))));
      started = true;
    } catch (error) {
      await stop().catch(() => undefined);
      throw error;
    }
  })();
  return { ready, stop, finished };
}
