import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../platform/clock.js';
import type { Storage, StorageConfig } from '../platform/db/index.js';
import type { Alerts } from './alerts.js';
import { ruleConfigs, scheduleDetection, type Engine, type EngineMetrics } from './engine.js';
import type { FromWorker, ToWorker, WorkerSetup } from './engine-protocol.js';
import { DetectionError } from './errors.js';
import type { RuleConfig, Rule } from './types.js';

export interface EngineThreadDeps {
  /** How the worker opens the tenants' data sets: the server's storage settings (data only). */
  readonly storageConfig: StorageConfig;
  /** With regions: the other regions' storage settings. */
  readonly regionStorageConfigs?: readonly StorageConfig[];
  /** The server's storage: a tenant's file swapped under it (a restore) is let go by the worker first. */
  readonly storage: Pick<Storage, 'onReplace'>;
  readonly clock: Clock;
  readonly rules: readonly Rule[];
  readonly overrides: Readonly<Record<string, RuleConfig>>;
  readonly operatorRealm: string;
  readonly batchEvents: number;
  readonly dedupMs: number;
  /** The worker thread's nice value (config `detection.niceness`). */
  readonly niceness: number;
  /** The alert changes the worker stored reach this thread's listeners (delivery, escalation, metrics). */
  readonly alerts: Pick<Alerts, 'relay'>;
  readonly metrics?: EngineMetrics;
  /** Chains the realm's committed pending events before an `evaluate()` by hand (audit.settle). */
  readonly settle?: (realm: string) => Promise<void>;
  /** Ids and codes only. */
  readonly log: { error(fields: object, message: string): void; info(fields: object, message: string): void };
}

// Compiled, this module is .js beside engine-worker.js; run from source (tests, `npm run dev`),
// .ts beside engine-worker.ts, and the worker needs the same TypeScript loader as this thread.
const here = fileURLToPath(import.meta.url);
const fromSource = extname(here) === '.ts';
const workerFile = new URL(`./engine-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);

/** The worker: the compiled module itself, or from source a bootstrap that registers tsx first (Node 20 ignores `--import` in a worker's execArgv). */
function spawnWorker(setup: WorkerSetup): Worker {
  const options = { workerData: setup, name: 'tresor-detection', execArgv: [] };
  if (!fromSource) return new Worker(workerFile, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(workerFile.href)}); }).catch((error) => { setImmediate(() => { throw error; }); });`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * The detection engine on a worker thread of its own (engine-worker.ts): the server thread only
 * says which realms have new events and relays what comes back — alert changes to the listeners
 * here, metrics to /metrics. Reading the trail and running the rules cost the requests nothing
 * but a share of the machine's other core. The rules' state, the cursor and the alerts are
 * written by the worker in the realm's data set under the cursor's compare-and-set, exactly as
 * on this thread, so a worker that died or was replaced loses nothing and raises nothing twice.
 * The worker starts when first needed (a server process that never leads detection never starts
 * one) and again after a crash.
 */
export function createEngineThread(deps: EngineThreadDeps): Engine {
  // Refused at start on this thread, by name, as the in-thread engine does.
  const configs = ruleConfigs(deps.rules, deps.overrides);
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (count: number) => void; reject: (error: Error) => void }>();
  const holds = new Map<number, () => void>();
  let closed = false;
  // A worker that died is started again at the next request — but not sooner than this after
  // the last one died, so that one that cannot start (storage unreachable) is not respawned at
  // every wake.
  const restartAfterMs = 5_000;
  let diedAt = Number.NEGATIVE_INFINITY;

  function started(): Worker {
    if (worker !== undefined) return worker;
    const setup: WorkerSetup = {
      storage: deps.storageConfig,
      ...(deps.regionStorageConfigs === undefined || deps.regionStorageConfigs.length === 0 ? {} : { regions: deps.regionStorageConfigs }),
      overrides: deps.overrides,
      operatorRealm: deps.operatorRealm,
      batchEvents: deps.batchEvents,
      dedupMs: deps.dedupMs,
      niceness: deps.niceness,
      now: deps.clock.now().getTime(),
    };
    const fresh = spawnWorker(setup);
    fresh.unref();
    fresh.on('message', (message: FromWorker) => receive(message));
    const gone = (error: Error) => {
      if (worker !== fresh) return;
      worker = undefined;
      diedAt = performance.now();
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      // A swap waiting on a dead worker goes on: its connections died with it.
      for (const held of holds.values()) held();
      holds.clear();
    };
    fresh.on('error', (error) => {
      deps.log.error({ event: 'detection.worker_failed', err: { type: error.name, code: (error as { code?: unknown }).code } }, 'detection worker stopped; the next round starts a new one');
      gone(error);
    });
    fresh.on('exit', (code) => gone(new DetectionError('detection-worker-exited', `detection worker exited (${code})`, { status: 503 })));
    worker = fresh;
    return fresh;
  }

  function receive(message: FromWorker): void {
    switch (message.kind) {
      case 'done':
        pending.get(message.id)?.resolve(message.count);
        pending.delete(message.id);
        break;
      case 'failed': {
        const error = Object.assign(new Error(message.error.message), message.error.code === undefined ? {} : { code: message.error.code });
        pending.get(message.id)?.reject(error);
        pending.delete(message.id);
        break;
      }
      case 'held':
        holds.get(message.id)?.();
        holds.delete(message.id);
        break;
      case 'changes':
        deps.alerts.relay(message.changes);
        break;
      case 'evaluated':
        deps.metrics?.evaluated(message.count);
        break;
      case 'rule-failed':
        deps.metrics?.ruleFailed(message.rule);
        break;
      case 'lag':
        deps.metrics?.lag(message.realm, message.ms);
        break;
      case 'ready':
        deps.log.info({ event: 'detection.worker_started', threadId: message.threadId, nice: message.nice }, 'detection worker started');
        break;
    }
    if (pending.size === 0 && holds.size === 0) worker?.unref();
  }

  function request(make: (id: number) => ToWorker): Promise<number> {
    if (closed) return Promise.resolve(0);
    if (worker === undefined && performance.now() - diedAt < restartAfterMs) {
      return Promise.reject(new DetectionError('detection-worker-exited', 'the detection worker stopped a moment ago; it starts again shortly', { status: 503 }));
    }
    const id = (nextId += 1);
    return new Promise<number>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      const running = started();
      // Referenced while a request is out, so that the process does not exit under it.
      running.ref();
      running.postMessage(make(id));
    });
  }

  // A tenant's file swapped under the server (a restore): the worker closes its connections to it
  // first and opens the new file afterwards. No worker running: nothing to let go of.
  deps.storage.onReplace(async (realm) => {
    const running = worker;
    if (running === undefined) return () => undefined;
    const id = (nextId += 1);
    await new Promise<void>((resolve) => {
      holds.set(id, resolve);
      running.ref();
      running.postMessage({ kind: 'hold', id, realm } satisfies ToWorker);
    });
    return () => {
      if (worker === running) running.postMessage({ kind: 'release', id } satisfies ToWorker);
    };
  });

  const now = () => deps.clock.now().getTime();
  const evaluate = (realm: string) => request((id) => ({ kind: 'evaluate', id, realm, now: now() }));
  let schedules = 0;

  return {
    async evaluate(realm) {
      await deps.settle?.(realm);
      return evaluate(realm);
    },
    configOf(ruleId) {
      const config = configs.get(ruleId);
      if (config === undefined) throw new DetectionError('unknown-rule', `no rule ${ruleId}`, { status: 404 });
      return config;
    },
    run(options) {
      schedules += 1;
      const job = scheduleDetection({
        ...options,
        evaluate,
        walk: async (realms) => void (await request((id) => ({ kind: 'walk', id, realms, now: now() }))),
        settled: async () => undefined,
      });
      return {
        wake: job.wake,
        async stop() {
          await job.stop();
          schedules -= 1;
          if (schedules > 0) return;
          closed = true;
          const running = worker;
          if (running === undefined) return;
          const id = (nextId += 1);
          await new Promise<void>((resolve) => {
            pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
            running.ref();
            running.postMessage({ kind: 'stop', id } satisfies ToWorker);
          });
          await running.terminate();
        },
      };
    },
  };
}
