import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCore } from '/work/main/src/app.js';
import { loadConfig } from '/work/main/src/config/index.js';
const engine = process.argv[2] ?? 'sqlite';
const dataDir = process.env.DIR ?? mkdtempSync(join(tmpdir(), 'rot-'));
const config = loadConfig({ env: {}, overrides: { dataDir, storage: engine === 'postgres' ? { engine: 'postgres', postgres: { url: process.env.PGURL, schemaPrefix: 'r' + Date.now() } } : { engine: 'sqlite' } } });
const core = await buildCore(config, { rotationOptions: { settleMs: 0 } });
if (process.env.SEED !== '0') await core.tenants.create('bench');
const t = { tenantId: 'bench', db: await core.storage.tenant('bench') };
const N = Number(process.env.N ?? 2000);
const t0 = performance.now();
for (let start = 0; process.env.SEED !== '0' && start < N; start += 100) {
  await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const n = start + i;
    const p = await core.records.create(t, 'Patient', { resourceType: 'Patient', name: [{ family: `F${n}`, given: ['A', 'B'] }], birthDate: '1980-01-01', gender: 'female', identifier: [{ system: 'urn:x', value: `id${n}` }], telecom: [{ system: 'phone', value: '123' }], address: [{ city: 'Berlin' }] });
    for (let o = 0; o < 3; o++) await core.records.create(t, 'Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: `Patient/${p.id}` }, effectiveDateTime: '2025-01-01T00:00:00Z', valueQuantity: { value: 70, unit: '/min' }, note: [{ text: 'n' }] });
  }));
}
if (process.env.ONLYSEED === '1') { await core.storage.close(); process.exit(0); }
console.log('seeded', N, 'in', ((performance.now() - t0) / 1000).toFixed(1), 's');
const { job } = await core.rotation.start('tenant', 'bench');
let reStart = performance.now(); let reEnd = 0; let fieldsAtRe = 0;
const done = await core.rotation.run(job.id, { onProgress: (j) => { if (j.phase !== 'reencrypt' && reEnd === 0) { reEnd = performance.now(); fieldsAtRe = j.fieldsDone; } } });
const secs = (reEnd - reStart) / 1000;
console.log('rows', done.rowsTotal, 'fields', fieldsAtRe, 'reencrypt s', secs.toFixed(2), 'fields/s', Math.round(fieldsAtRe / secs), 'rows/s', Math.round(done.rowsTotal / secs), 'retired', done.retired);
await core.storage.close();
const G = globalThis as any; console.log('sel', G.tsel|0, 'old', G.told|0, 'next', G.tnext|0, 'crypt', G.tcrypt|0, 'write', G.twrite|0);
