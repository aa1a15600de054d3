/**
 * What the search and `$everything` benches share: their child server, schema clean-up, report
 * file and entry point; and the seeding — many Observations of one patient, written through the
 * records service in batches (validated, sealed under the patient's data key, indexed), each
 * batch one durable transaction. Only the HTTP layer and the create audit events are skipped.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { buildApp, type Tresor } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { supportedTypes, warmFhirValidator } from '../src/records/index.js';

export const loinc = 'http://loinc.org';
export const bodyWeight = '29463-7';

const start2025 = Date.UTC(2025, 0, 1);

export function weightObservation(patientId: string, n: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: loinc, code: bodyWeight, display: 'Body weight' }] },
    subject: { reference: `Patient/${patientId}` },
    // One reading every 5 minutes from 2025-01-01: every one is within date=ge2025-01-01.
    effectiveDateTime: `${new Date(start2025 + n * 300_000).toISOString().slice(0, 19)}Z`,
    valueQuantity: { value: 60 + (n % 40) / 2, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}

/** Creates a patient and `count` weight Observations of it; returns the patient's id. */
export async function seedPatient(app: Tresor, tenantId: string, count: number, batch = 500): Promise<string> {
  const db = await app.storage.tenant(tenantId);
  const t = { tenantId, db };
  const patient = await app.records.create(t, 'Patient', { resourceType: 'Patient', name: [{ family: `Search${count}` }], gender: 'female' });
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    const writes: Awaited<ReturnType<Tresor['records']['prepare']>>[] = [];
    for (let i = 0; i < size; i += 1) writes.push(await app.records.prepare(tenantId, 'Observation', weightObservation(patient.id, done + i), { mode: 'create' }));
    await db.transaction(async (tx) => {
      for (const write of writes) await app.records.createIn({ tenantId, db: tx }, write);
    });
  }
  return patient.id;
}

/**
 * The server of a bench's child process: a fresh data directory (or PostgreSQL schemas under
 * `schemaPrefix`), plain HTTP on a free loopback port, silent, the validator warmed; one tenant
 * with a service key. It shuts down (closing the app, removing its directory) when the parent
 * says `stop` or goes away.
 */
export async function benchServer(engine: 'sqlite' | 'postgres', pgUrl: string | undefined, options: { readonly dirPrefix: string; readonly schemaPrefix: string; readonly tenantId: string }): Promise<{ app: Tresor; key: string }> {
  const dataDir = mkdtempSync(join(os.tmpdir(), options.dirPrefix));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      server: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
      log: { level: 'silent' },
      storage: engine === 'postgres' ? { engine: 'postgres', postgres: { url: pgUrl, schemaPrefix: options.schemaPrefix } } : { engine: 'sqlite' },
    },
  });
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config);
  const shutdown = async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stop') void shutdown();
  });
  process.on('disconnect', () => void shutdown());
  await app.tenants.create(options.tenantId);
  const { key } = await app.apiKeys.create({ tenantId: options.tenantId, role: 'service' });
  return { app, key };
}

/** Drops the PostgreSQL schemas a bench child made under `schemaPrefix`. */
export async function dropBenchSchemas(url: string, schemaPrefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${schemaPrefix}\\_%`]);
    for (const { nspname } of rows) await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Writes a bench's report to bench/results/<date>-<name>.md and prints it. */
export function writeBenchReport(name: string, date: string, report: string): void {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'results', `${date}-${name}.md`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, report);
  console.log(`\n${report}\nwritten to ${file}`);
}

/** A bench script's entry: `--serve <engine> [pgUrl]` runs its server child, anything else the measurement. */
export function runBench(serve: (engine: 'sqlite' | 'postgres', pgUrl: string | undefined) => Promise<void>, main: () => Promise<void>): void {
  if (process.argv[2] === '--serve') {
    serve(process.argv[3] as 'sqlite' | 'postgres', process.argv[4] || undefined).catch((error: unknown) => {
      console.error('bench server failed:', error);
      process.exit(1);
    });
  } else {
    main().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  }
}
