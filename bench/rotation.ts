/**
 * `node --import tsx bench/rotation.ts`: a tenant key rotation on its own (SQLite, in-process, as
 * `tresor start` builds it). One tenant with BENCH_ROTATION_PATIENTS Patients (default 400), each
 * with BENCH_ROTATION_OBSERVATIONS Observations (default 50), written through records.prepare →
 * createIn + audit.appendIn; then, in the same process:
 *
 *   1. the crypto-free rewrite of every sealed row (bench/rewrite-without-crypto.ts): the baseline;
 *   2. `rotation.start` + `rotation.run` of the tenant: envelopes (stored versions re-sealed) and
 *      fields (sealed elements inside them) per second of the re-encryption pass, and the job's
 *      wall time with its settling waits;
 *   3. the baseline again (the machine is shared: the ratio uses the mean of the baselines just
 *      before and just after the rotation); 2 and 3 repeat BENCH_ROTATION_ROUNDS times (default 3).
 *
 * TRESOR_KEY_ROTATION_BATCH_ROWS: the job's batch size (keys.rotationBatchRows) for this run.
 * BENCH_ROTATION_PROFILE=<file>: the CPU profile of the last round's rotation alone (Chrome DevTools, or
 * `node --import tsx bench/profile-summary.ts <file>`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import type { AuditEventInput } from '../src/audit/index.js';
import { loadConfig } from '../src/config/index.js';
import { supportedTypes, warmFhirValidator, type StoredResource } from '../src/records/index.js';
import { rewriteWithoutCrypto } from './rewrite-without-crypto.js';

const defaults = { patients: 400, observations: 50, patientsPerTransaction: 10 };
const patients = Number(process.env['BENCH_ROTATION_PATIENTS'] ?? defaults.patients);
const observations = Number(process.env['BENCH_ROTATION_OBSERVATIONS'] ?? defaults.observations);
const profileFile = process.env['BENCH_ROTATION_PROFILE'];
const batchRows = process.env['TRESOR_KEY_ROTATION_BATCH_ROWS'];
const rounds = Number(process.env['BENCH_ROTATION_ROUNDS'] ?? 3);
const tenantId = 'bench-rotation';
const actor = { id: 'apikey:bench-rotation', role: 'service', client: 'bench' } as const;

function eventFor(stored: StoredResource): AuditEventInput {
  return {
    action: 'record.created',
    outcome: 'success',
    status: 201,
    actor,
    purpose: 'TREAT',
    resources: [`${stored.type}/${stored.id}/_history/${stored.versionId}`],
    subjects: stored.subject.startsWith('Patient/') ? [stored.subject] : [],
    classes: [...stored.classes].sort(),
    requestId: `bench-${stored.id}`,
    sourceIp: '127.0.0.1',
    detail: '',
  };
}

const patientBody = (n: number) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:1.2.276.0.76.4.8', value: `K${String(100_000_000 + n)}` }],
  name: [{ use: 'official', family: `Family${n}`, given: ['Anna', 'Maria'] }],
  telecom: [{ system: 'phone', value: `+49 151 ${String(1_000_000 + n)}`, use: 'mobile' }],
  gender: n % 2 === 0 ? 'female' : 'male',
  birthDate: `19${String(30 + (n % 70)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`,
  address: [{ use: 'home', line: [`Hauptstraße ${1 + (n % 120)}`], city: 'Berlin', postalCode: '10115', country: 'DE' }],
});

const observationBody = (patientId: string, n: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }], text: 'Body weight' },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: new Date(Date.UTC(2025, 0, 1) + n * 3_600_000).toISOString(),
  valueQuantity: { value: 50 + (n % 60), unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  ...(n % 4 === 0 ? { note: [{ text: `Measured after breakfast, note ${n}` }] } : {}),
});

const dataDir = mkdtempSync(join(tmpdir(), 'tresor-bench-rotation-'));
const app = await buildApp(loadConfig({ env: batchRows === undefined ? {} : { TRESOR_KEY_ROTATION_BATCH_ROWS: batchRows }, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' }, storage: { engine: 'sqlite' }, backup: { schedule: false } } }));
try {
  warmFhirValidator(supportedTypes);
  await app.tenants.create(tenantId, 'Rotation benchmark');
  const db = await app.storage.tenant(tenantId);
  const create = async (items: ReadonlyArray<Record<string, unknown>>): Promise<StoredResource[]> => {
    const prepared: Array<Awaited<ReturnType<typeof app.records.prepare>>> = [];
    for (const body of items) prepared.push(await app.records.prepare(tenantId, body['resourceType'] as string, body, { mode: 'create' }));
    return db.transaction(async (tx) => {
      const out: StoredResource[] = [];
      for (const write of prepared) {
        const stored = await app.records.createIn({ tenantId, db: tx }, write);
        await app.audit.appendIn(tx, tenantId, [eventFor(stored)]);
        out.push(stored);
      }
      return out;
    });
  };
  let started = performance.now();
  for (let p = 0; p < patients; p += defaults.patientsPerTransaction) {
    const made = await create(Array.from({ length: Math.min(defaults.patientsPerTransaction, patients - p) }, (_, i) => patientBody(p + i)));
    await create(made.flatMap((patient, i) => Array.from({ length: observations }, (_, o) => observationBody(patient.id, (p + i) * observations + o))));
  }
  await app.audit.settle(tenantId);
  console.log(`seeded ${patients} Patients with ${observations} Observations each in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const session = new Session();
  if (profileFile !== undefined) session.connect();
  let baseline = await rewriteWithoutCrypto(db);
  console.log(`baseline (rewrite without crypto): ${baseline.rows} rows in ${baseline.seconds.toFixed(2)} s = ${Math.round(baseline.rows / baseline.seconds)} rows/s`);
  for (let round = 1; round <= rounds; round += 1) {
    if (profileFile !== undefined && round === rounds) {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    started = performance.now();
    const { job } = await app.rotation.start('tenant', tenantId);
    let passEnded = 0;
    const done = await app.rotation.run(job.id, {
      onProgress: (current) => {
        if (passEnded === 0 && (current.phase !== 'reencrypt' || (current.rowsTotal > 0 && current.rowsDone >= current.rowsTotal && current.cursor === null))) passEnded = performance.now();
      },
    });
    const wall = (performance.now() - started) / 1000;
    if (profileFile !== undefined && round === rounds) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
      session.disconnect();
    }
    const pass = (passEnded - started) / 1000;
    const after = await rewriteWithoutCrypto(db);
    const baselineRate = (baseline.rows / baseline.seconds + after.rows / after.seconds) / 2;
    console.log(
      `round ${round}: ${done.rowsTotal} envelopes (stored versions), ${done.fieldsDone} fields; pass ${pass.toFixed(2)} s = ${Math.round(done.rowsTotal / pass)} envelopes/s, ${Math.round(done.fieldsDone / pass)} fields/s; job ${wall.toFixed(2)} s (waits included; retired ${done.retired ?? ''}); baseline after ${Math.round(after.rows / after.seconds)} rows/s; ratio envelopes/s ÷ baseline rows/s ${(done.rowsTotal / pass / baselineRate).toFixed(3)}`,
    );
    baseline = after;
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
