/**
 * `node --import tsx bench/sealing-formats.ts`: sealing and opening the bench's Observation in
 * format 1 (one envelope per element, as stored before) and format 2 (one envelope per version),
 * alternating in one process, so the ratio holds on a busy machine. CPU only: no key store, no
 * SQL, no HTTP; the key lookup is an in-memory map, as the server's warm key cache is.
 */
import { performance } from 'node:perf_hooks';
import { openResource, sealResource, type KeyLookup } from '../src/records/sealing.js';
import { sampleContext, sampleKey, sampleObservation } from './sample-record.js';
import { sealFormatOne } from '../test/support/legacy-sealing.js';

const key = sampleKey;
const lookup: KeyLookup = async () => key;
const context = sampleContext;
const observation = sampleObservation;

const seconds = Number(process.env['BENCH_SECONDS'] ?? 2);
const formats = {
  'format 1 (per element)': (resource: Record<string, unknown>) => sealFormatOne(context, resource, key),
  'format 2 (per version)': (resource: Record<string, unknown>) => sealResource(context, resource, key),
};

async function rate(work: () => unknown): Promise<number> {
  let n = 0;
  const began = performance.now();
  while (performance.now() - began < seconds * 1000) {
    for (let i = 0; i < 100; i += 1) await work();
    n += 100;
  }
  return n / ((performance.now() - began) / 1000);
}

const results: Record<string, { seal: number[]; open: number[] }> = {};
for (let round = 0; round < 3; round += 1) {
  for (const [name, sealWith] of Object.entries(formats)) {
    const stored = sealWith(observation);
    const entry = (results[name] ??= { seal: [], open: [] });
    entry.seal.push(await rate(() => sealWith(observation)));
    entry.open.push(await rate(() => openResource(context, stored, lookup)));
  }
}
const best = (values: number[]) => Math.max(...values);
const one = results['format 1 (per element)'] as { seal: number[]; open: number[] };
const two = results['format 2 (per version)'] as { seal: number[]; open: number[] };
console.log(`envelopes per Observation: format 1 ${(JSON.parse(sealFormatOne(context, observation, key).sealed) as unknown[]).length}, format 2 1`);
console.log('| format | seal/s | open/s |\n|---|---:|---:|');
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${Math.round(best(r.seal)).toLocaleString('en-US')} | ${Math.round(best(r.open)).toLocaleString('en-US')} |`);
console.log(`| ratio 2 ÷ 1 | ${(best(two.seal) / best(one.seal)).toFixed(2)} | ${(best(two.open) / best(one.open)).toFixed(2)} |`);
