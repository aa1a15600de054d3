/**
 * `node --import tsx bench/audit-verify.ts`: `audit verify` speed on its own — one tenant with
 * BENCH_VERIFY_EVENTS (default 100,000) single-resource events appended through the audit
 * service, then three verifications in the same process, the CPU profile of those three written
 * to BENCH_VERIFY_PROFILE when set (open it in Chrome DevTools, or sum it by function).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCore } from '../src/app.js';
import { operatorEvent } from '../src/audit/index.js';
import { loadConfig } from '../src/config/index.js';

const defaults = { events: 100_000, batch: 1000 };
const events = Number(process.env['BENCH_VERIFY_EVENTS'] ?? defaults.events);
const profileFile = process.env['BENCH_VERIFY_PROFILE'];

const dataDir = mkdtempSync(join(tmpdir(), 'tresor-bench-verify-'));
const core = await buildCore(loadConfig({ env: {}, overrides: { dataDir } }));
try {
  await core.tenants.create('verify');
  const actor = { id: 'bench', role: 'operator', client: 'bench' };
  let started = performance.now();
  for (let i = 0; i < events; i += defaults.batch) {
    const batch = Array.from({ length: Math.min(defaults.batch, events - i) }, (_, j) => operatorEvent('record.read', actor, { resources: [`Observation/${i + j}`], subjects: ['Patient/p1'] }));
    await core.audit.record('verify', batch);
  }
  console.log(`appended ${events} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const session = new Session();
  if (profileFile !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  for (let round = 1; round <= 3; round++) {
    started = performance.now();
    const report = await core.audit.verify('verify');
    const seconds = (performance.now() - started) / 1000;
    console.log(`verify ${round}: ${report.events} events, ${report.findings.length} findings, ${seconds.toFixed(2)} s = ${Math.round(report.events / seconds)} events/s`);
  }
  if (profileFile !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
} finally {
  await core.audit.close();
  await core.storage.close();
  rmSync(dataDir, { recursive: true, force: true });
}
