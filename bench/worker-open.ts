/**
 * `node --import tsx bench/worker-open.ts`: would opening sealed versions on a worker thread free
 * the main thread? The same format-2 Observation opened N times inline (openResource) and on a
 * pool of 1 or 2 worker threads (postMessage of the stored text, the text back), 32 in flight as
 * under the HTTP bench. Reported: the main thread's busy time per open (event-loop utilisation ×
 * wall time), which is what a worker pool would have to lower to pay, and opens/s.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { openResource, sealResource } from '../src/records/sealing.js';
import { sampleContext, sampleKey, sampleObservation } from './sample-record.js';

const key = sampleKey;
const context = sampleContext;
const stored = sealResource(context, sampleObservation, key);
const total = Number(process.env['BENCH_OPENS'] ?? 40_000);
const inFlight = 32;

// The worker runs the same module (openResource) with the key it was given once at start.
const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { register } = require('node:module');
  import('tsx/esm/api').then(async ({ tsImport }) => {
    const { openResource } = await tsImport(workerData.sealing, workerData.parent);
    const key = { ...workerData.key, key: Buffer.from(workerData.key.key) };
    parentPort.on('message', async ({ n, stored }) => {
      const opened = await openResource(workerData.context, stored, async () => key);
      parentPort.postMessage({ n, text: opened.text, sealedElements: opened.sealedElements });
    });
    parentPort.postMessage('ready');
  });
`;

function startWorker(): Promise<Worker> {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { sealing: '../src/records/sealing.ts', parent: import.meta.url, context, key: { ...key, key: new Uint8Array(key.key) } },
  });
  return new Promise((resolve) => worker.once('message', () => resolve(worker)));
}

async function measure(name: string, openOne: (n: number) => Promise<unknown>): Promise<void> {
  const elu = performance.eventLoopUtilization();
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await openOne(next++);
    }),
  );
  const wallMs = performance.now() - began;
  const used = performance.eventLoopUtilization(elu);
  console.log(`| ${name} | ${Math.round(total / (wallMs / 1000)).toLocaleString('en-US')} | ${((used.active * 1000) / total).toFixed(1)} |`);
}

const pools = [await startWorker(), await startWorker()];
const pending = new Map<number, (value: unknown) => void>();
for (const worker of pools) worker.on('message', (m: { n: number }) => pending.get(m.n)?.(m));
const viaPool = (size: number) => (n: number) =>
  new Promise((resolve) => {
    pending.set(n, resolve);
    (pools[n % size] as Worker).postMessage({ n, stored });
  }).finally(() => pending.delete(n));

console.log(`${total.toLocaleString('en-US')} opens, ${inFlight} in flight, format-2 Observation (${(stored.sealed ?? '').length} characters sealed)`);
console.log('| where | opens/s | main-thread µs per open |\n|---|---:|---:|');
for (let round = 0; round < 2; round += 1) {
  await measure('inline (main thread)', () => openResource(context, stored, async () => key));
  await measure('1 worker thread', viaPool(1));
  await measure('2 worker threads', viaPool(2));
}
await Promise.all(pools.map((w) => w.terminate()));
