/**
 * `npm run bench -- backup` (or `BENCH_ONLY=backup npm run bench`): backups of one large tenant
 * (issue #7 "Speed (bench)"), each number next to a raw baseline measured in the same run.
 *
 *   BENCH_BACKUP_MIB=1024          size of the tenant's data set (its SQLite file), MiB
 *   BENCH_BACKUP_WRITE_RATE=50     writes/s offered by the write-stall writer
 *   BENCH_BACKUP_CHUNK_KIB         backup.chunkKiB for this run (default: the configuration's default)
 *
 * What it does, in one process (Tresor in-process, as `tresor start` builds it: buildApp +
 * loadConfig, SQLite, synchronous=FULL, a temporary data directory; no HTTP listener):
 *
 * 1. Fills one tenant with FHIR records through the records service — records.prepare, then
 *    createIn and audit.appendIn in one transaction, exactly what `POST /fhir/{type}` does —
 *    until the tenant's file reaches the size: real sealed rows, search index, reference links,
 *    key store entries and a hash-chained audit event per record.
 * 2. Full snapshot: `backups.run()` (what the scheduler and `tresor backup run` call) into a fresh
 *    local-directory repository on the same disk. Baseline: the same SQLite files copied with
 *    fs.copyFileSync and fsync'd (the snapshot fsyncs every chunk it stores, too).
 * 3. 1 % change: 1 % of the records, drawn uniformly at random, updated through the same path
 *    (updateIn + a `record.updated` audit event, one transaction each); then a second snapshot.
 *    What it adds to the repository is compared with the full size (a plain copy adds 100 %).
 * 4. Full restore: `backups.restoreTo(snapshot, newDir, { tenant })` — the tenant and the key
 *    store, every chunk opened and checked, every file against its SHA-256. Baseline: the same
 *    live files copied into a new directory and fsync'd.
 * 5. Write stall: an open-loop writer creates Observations at a fixed rate, one per transaction,
 *    in this process (as the server's requests and its backup scheduler share one process); each
 *    write's latency counts from the moment it was due, so a stalled event loop shows up. Measured
 *    alone (baseline), during an incremental snapshot (a running server's 15-minute one) and during
 *    a first full snapshot into an empty repository.
 *
 * Results go to stdout and to bench/results/<date>-backup.md (…-backup-<MiB>mib.md for another size).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { buildApp, type Tresor } from '../src/app.js';
import type { AuditEventInput } from '../src/audit/index.js';
import type { Manifest, Progress } from '../src/backup/snapshots.js';
import { loadConfig } from '../src/config/index.js';
import type { SqlDatabase } from '../src/platform/db/index.js';
import { sqliteVersion } from './sqlite-version.js';
import { supportedTypes, warmFhirValidator, type StoredResource } from '../src/records/index.js';

// ── Settings ────────────────────────────────────────────────────────────────────────────────

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(raw)}`);
  return value;
}

const sizeMiB = envNumber('BENCH_BACKUP_MIB', 1024);
const writeRate = envNumber('BENCH_BACKUP_WRITE_RATE', 50);
const targetBytes = Math.round(sizeMiB * 2 ** 20);
const tenantId = 'bench-backup';
/** The issue's targets. */
const targets = { fullMBps: 150, changedPercent: 5, restoreSeconds: 15 } as const;
const changeFraction = 0.01;
const practitionerCount = 50;
const observationsPerPatient = 30;
const appointmentsPerPatient = 3;
/** Patients per seeding transaction (each with its records: ~34 records). */
const patientsPerTransaction = 8;

const MB = 1e6;
const MiB = 2 ** 20;

// ── Deterministic content ───────────────────────────────────────────────────────────────────

/** mulberry32: the same records and the same 1 % on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const families = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Koch', 'Richter', 'Klein', 'Wolf', 'Schröder', 'Neumann'];
const givens = ['Anna', 'Maria', 'Lena', 'Sophie', 'Paul', 'Jonas', 'Lukas', 'Felix', 'Emma', 'Mia', 'Leon', 'Noah', 'Ida', 'Karl', 'Greta', 'Theo'];
const streets = ['Hauptstraße', 'Schulstraße', 'Gartenweg', 'Bahnhofstraße', 'Lindenallee', 'Bergstraße', 'Kirchplatz', 'Am Markt'];
const cities: Array<[string, string]> = [
  ['Berlin', '10115'],
  ['Hamburg', '20095'],
  ['München', '80331'],
  ['Köln', '50667'],
  ['Leipzig', '04109'],
  ['Dresden', '01067'],
];
const notes = [
  'Patient reports feeling well; no complaints since the last visit. Continue current medication and re-check in three months.',
  'Measured after ten minutes of rest, seated, left arm. Value confirmed by a second measurement five minutes later.',
  'Fasting sample taken in the morning. Patient was asked to avoid strenuous exercise on the previous day.',
  'Slightly elevated compared with the previous result; lifestyle advice given, follow-up appointment arranged.',
];
const pick = <T>(list: readonly T[], n: number): T => list[n % list.length] as T;

const start2021 = Date.UTC(2021, 0, 1);
const dateTime = (n: number) => `${new Date(start2021 + ((n * 7919) % (1500 * 24)) * 3_600_000 + (n % 60) * 60_000).toISOString().slice(0, 19)}Z`;

function practitioner(n: number): Record<string, unknown> {
  return {
    resourceType: 'Practitioner',
    identifier: [{ system: 'https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR', value: String(100_000_000 + n * 7) }],
    name: [{ use: 'official', family: pick(families, n * 3), given: [pick(givens, n * 5)], prefix: ['Dr. med.'] }],
    telecom: [{ system: 'phone', value: `+49 30 ${String(5_550_000 + n)}`, use: 'work' }],
  };
}

function patient(n: number, version = 1): Record<string, unknown> {
  const [city, postalCode] = pick(cities, n);
  return {
    resourceType: 'Patient',
    identifier: [
      { system: 'urn:oid:1.2.276.0.76.4.8', value: `K${String(100_000_000 + n)}` },
      { system: 'http://fhir.de/sid/gkv/kvid-10', value: `A${String(100_000_000 + n * 13).slice(0, 9)}` },
    ],
    active: true,
    name: [{ use: 'official', family: pick(families, n), given: [pick(givens, n * 7), pick(givens, n * 11 + 3)] }],
    telecom: [
      { system: 'phone', value: `+49 ${String(150 + (n % 30))} ${String(1_000_000 + ((n * 7919 + version) % 9_000_000))}`, use: 'mobile' },
      { system: 'email', value: `patient${n}.v${version}@example.org`, use: 'home' },
    ],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: `19${String(30 + (n % 70)).padStart(2, '0')}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`,
    address: [{ use: 'home', line: [`${pick(streets, n * 3)} ${1 + (n % 120)}`], city, postalCode, country: 'DE' }],
  };
}

const loinc = 'http://loinc.org';
const ucum = 'http://unitsofmeasure.org';
const vitalSigns = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }];
const laboratory = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory', display: 'Laboratory' }] }];
const quantity = (value: number, unit: string, code: string) => ({ value, unit, system: ucum, code });

/** Five kinds of Observation: heart rate, blood pressure, weight, glucose, HbA1c (with a note). */
function observation(patientId: string, practitionerId: string, n: number, version = 1): Record<string, unknown> {
  const base = {
    resourceType: 'Observation',
    status: version === 1 ? 'final' : 'amended',
    subject: { reference: `Patient/${patientId}` },
    performer: [{ reference: `Practitioner/${practitionerId}` }],
    effectiveDateTime: dateTime(n),
    issued: `${dateTime(n + 1).slice(0, 19)}.000Z`,
  };
  const v = version - 1;
  switch (n % 5) {
    case 0:
      return { ...base, category: vitalSigns, code: { coding: [{ system: loinc, code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' }, valueQuantity: quantity(55 + ((n + v) % 50), 'beats/minute', '/min') };
    case 1:
      return {
        ...base,
        category: vitalSigns,
        code: { coding: [{ system: loinc, code: '85354-9', display: 'Blood pressure panel with all children optional' }], text: 'Blood pressure' },
        component: [
          { code: { coding: [{ system: loinc, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: quantity(105 + ((n + v) % 50), 'mmHg', 'mm[Hg]') },
          { code: { coding: [{ system: loinc, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: quantity(65 + ((n + v) % 30), 'mmHg', 'mm[Hg]') },
        ],
      };
    case 2:
      return { ...base, category: vitalSigns, code: { coding: [{ system: loinc, code: '29463-7', display: 'Body weight' }], text: 'Body weight' }, valueQuantity: quantity(50 + ((n * 3 + v) % 60) + 0.1 * (n % 10), 'kg', 'kg') };
    case 3:
      return {
        ...base,
        category: laboratory,
        code: { coding: [{ system: loinc, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }], text: 'Glucose' },
        valueQuantity: quantity(70 + ((n + v) % 90), 'mg/dL', 'mg/dL'),
        interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: (n + v) % 90 > 40 ? 'H' : 'N' }] }],
        referenceRange: [{ low: quantity(70, 'mg/dL', 'mg/dL'), high: quantity(110, 'mg/dL', 'mg/dL') }],
      };
    default:
      return {
        ...base,
        category: laboratory,
        code: { coding: [{ system: loinc, code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }], text: 'HbA1c' },
        valueQuantity: quantity(4.5 + ((n + v) % 40) / 10, '%', '%'),
        note: [{ text: pick(notes, n + v) }],
      };
  }
}

function appointment(patientId: string, practitionerId: string, n: number, version = 1): Record<string, unknown> {
  const startAt = start2021 + ((n * 104_729) % (1500 * 24)) * 3_600_000;
  return {
    resourceType: 'Appointment',
    status: version === 1 ? 'booked' : 'fulfilled',
    description: pick(['Routine check-up', 'Blood test', 'Follow-up: blood pressure', 'Vaccination', 'Diabetes consultation'], n),
    start: new Date(startAt).toISOString(),
    end: new Date(startAt + 20 * 60_000).toISOString(),
    minutesDuration: 20,
    participant: [
      { actor: { reference: `Patient/${patientId}` }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitionerId}` }, status: 'accepted' },
    ],
  };
}

/** Enough to write the same record again with a change (the 1 % update). */
interface Seeded {
  readonly type: 'Patient' | 'Observation' | 'Appointment';
  readonly id: string;
  readonly n: number;
  readonly patientId: string;
  readonly practitionerId: string;
}

function bodyOf(record: Seeded, version: number): Record<string, unknown> {
  switch (record.type) {
    case 'Patient':
      return patient(record.n, version);
    case 'Observation':
      return observation(record.patientId, record.practitionerId, record.n, version);
    case 'Appointment':
      return appointment(record.patientId, record.practitionerId, record.n, version);
  }
}

// ── The real write path ─────────────────────────────────────────────────────────────────────

const actor = { id: 'apikey:bench-backup', role: 'service', client: 'bench' } as const;

/** The audit event `POST`/`PUT /fhir/{type}` appends with the change (records/routes.ts eventOf). */
function eventFor(stored: StoredResource, action: 'record.created' | 'record.updated', status: number): AuditEventInput {
  return {
    action,
    outcome: 'success',
    status,
    actor,
    purpose: 'TREAT',
    resources: [`${stored.type}/${stored.id}/_history/${stored.versionId}`],
    subjects: stored.subject.startsWith('Patient/') ? [stored.subject] : [],
    classes: [...stored.classes].sort(),
    requestId: randomUUID(),
    sourceIp: '127.0.0.1',
    detail: '',
  };
}

interface Writer {
  /** Creates these resources (in order) in one transaction, each with its audit event. */
  create(items: ReadonlyArray<{ type: string; body: Record<string, unknown> }>): Promise<StoredResource[]>;
  update(type: string, id: string, body: Record<string, unknown>): Promise<StoredResource>;
}

function writerOf(app: Tresor, db: SqlDatabase): Writer {
  const { records, audit } = app;
  return {
    async create(items) {
      // Key lookups (and a new patient's data key) happen before the transaction, as in the route.
      const prepared: Array<Awaited<ReturnType<typeof records.prepare>>> = [];
      for (const item of items) prepared.push(await records.prepare(tenantId, item.type, item.body, { mode: 'create' }));
      return db.transaction(async (tx) => {
        const out: StoredResource[] = [];
        for (const write of prepared) {
          const stored = await records.createIn({ tenantId, db: tx }, write);
          await audit.appendIn(tx, tenantId, [eventFor(stored, 'record.created', 201)]);
          out.push(stored);
        }
        return out;
      });
    },
    async update(type, id, body) {
      const prepared = await records.prepare(tenantId, type, { ...body, id }, { mode: 'update', id });
      return db.transaction(async (tx) => {
        const { resource } = await records.updateIn({ tenantId, db: tx }, prepared);
        await audit.appendIn(tx, tenantId, [eventFor(resource, 'record.updated', 200)]);
        return resource;
      });
    },
  };
}

// ── Files ───────────────────────────────────────────────────────────────────────────────────

const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** The live file and its WAL (a plain copy of a WAL database needs both). */
const withWal = (file: string) => [file, `${file}-wal`].filter((f) => sizeOf(f) > 0);

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The baseline: `fs.copyFileSync` of each file into `targetDir`, each file and the directory fsync'd. */
function plainCopy(files: readonly string[], targetDir: string): { bytes: number; seconds: number } {
  const started = performance.now();
  mkdirSync(targetDir, { recursive: true });
  let bytes = 0;
  // Data set files have distinct names (platform.db, keys.db, tenants/<file>.db and their -wal).
  files.forEach((file) => {
    const target = join(targetDir, file.slice(file.lastIndexOf('/') + 1));
    copyFileSync(file, target);
    fsyncPath(target);
    bytes += statSync(target).size;
  });
  fsyncPath(targetDir);
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

/** Writes the WAL into the file (a separate connection; the app's are idle at that moment). */
function checkpoint(file: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

function directoryBytes(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        files += 1;
        bytes += statSync(path).size;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { files, bytes };
}

/**
 * Diagnostics for the 1 % change: which pages differ between two plain copies of the tenant's
 * file, by the table or index that owns them in the newer one (SQLite's dbstat), and how many
 * of the snapshot's fixed-size chunks they fall into.
 */
function changedPages(
  before: string,
  after: string,
  chunkBytes: number,
): { pageSize: number; pages: number; changed: number; appended: number; chunks: number; deflatedBytes: number; byOwner: Array<[string, number]> } {
  const db = new Database(after, { readonly: true, fileMustExist: true });
  try {
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const pages = Math.ceil(statSync(after).size / pageSize);
    const beforePages = Math.floor(statSync(before).size / pageSize);
    const fa = openSync(after, 'r');
    const fb = openSync(before, 'r');
    const changedList: number[] = [];
    let deflatedBytes = 0;
    try {
      const window = 256;
      const a = Buffer.alloc(pageSize * window);
      const b = Buffer.alloc(pageSize * window);
      for (let first = 0; first < pages; first += window) {
        const readA = readSync(fa, a, 0, a.length, first * pageSize);
        const readB = first < beforePages ? readSync(fb, b, 0, b.length, first * pageSize) : 0;
        for (let i = 0; i * pageSize < readA; i += 1) {
          const page = first + i;
          const off = i * pageSize;
          if (page >= beforePages || off + pageSize > readB || a.compare(b, off, off + pageSize, off, off + pageSize) !== 0) {
            changedList.push(page + 1);
            deflatedBytes += deflateRawSync(a.subarray(off, off + pageSize), { level: 1 }).length;
          }
        }
      }
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
    const owners = new Map<number, string>();
    const wanted = new Set(changedList);
    // Page 1 is the header; freelist pages have no owner in dbstat.
    for (const row of db.prepare('SELECT name, pageno FROM dbstat').iterate() as Iterable<{ name: string; pageno: number }>) {
      if (wanted.has(row.pageno)) owners.set(row.pageno, row.name);
    }
    const byOwner = new Map<string, number>();
    for (const page of changedList) {
      const owner = owners.get(page) ?? (page === 1 ? '(file header)' : '(free pages)');
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
    }
    const pagesPerChunk = Math.max(1, Math.round(chunkBytes / pageSize));
    return {
      pageSize,
      pages,
      changed: changedList.length,
      appended: changedList.filter((p) => p > beforePages).length,
      chunks: new Set(changedList.map((p) => Math.floor((p - 1) / pagesPerChunk))).size,
      deflatedBytes,
      byOwner: [...byOwner].sort((x, y) => y[1] - x[1]),
    };
  } finally {
    db.close();
  }
}

// ── Statistics ──────────────────────────────────────────────────────────────────────────────

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

interface Latencies {
  /** Each write: when it was due (performance.now()) and its latency, ms. */
  readonly samples: ReadonlyArray<readonly [number, number]>;
  /** Event loop blocks of 100 ms or more: when they began and how long they lasted, ms. */
  readonly blocks: ReadonlyArray<readonly [number, number]>;
  readonly writes: number;
  readonly failed: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The event loop's longest block while the writer ran (monitorEventLoopDelay), ms. */
  readonly loopMaxMs: number;
}

/**
 * An open-loop writer: a write is due every 1/rate s whether or not the previous ones finished
 * (a server's clients do not wait for each other); each latency counts from the moment its write
 * was due, so time the event loop could not start it counts too. Runs until `until` settles.
 */
async function openLoopWriter(writer: Writer, patients: readonly Seeded[], practitioners: readonly string[], rate: number, until: Promise<unknown>, counter: { n: number }): Promise<Latencies> {
  const period = 1000 / rate;
  const latencies: number[] = [];
  const samples: Array<readonly [number, number]> = [];
  const blocks: Array<readonly [number, number]> = [];
  let tick = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (now - tick >= 100) blocks.push([tick, now - tick]);
    tick = now;
  }, 10);
  let failed = 0;
  let done = false;
  void until.then(
    () => (done = true),
    () => (done = true),
  );
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; !done; i += 1) {
    const due = started + i * period;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (done) break;
    const n = (counter.n += 1);
    const owner = patients[n % patients.length] as Seeded;
    const write = writer
      .create([{ type: 'Observation', body: observation(owner.id, practitioners[n % practitioners.length] as string, 10_000_000 + n) }])
      .then(
        () => {
          const latency = performance.now() - due;
          latencies.push(latency);
          samples.push([due, latency]);
        },
        () => void (failed += 1),
      )
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(inFlight);
  loop.disable();
  clearInterval(watchdog);
  const sorted = Float64Array.from(latencies).sort();
  return { samples, blocks, writes: latencies.length, failed, seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number), loopMaxMs: loop.max / 1e6 };
}

// ── Snapshot timing ─────────────────────────────────────────────────────────────────────────

interface SnapshotTiming {
  readonly manifest: Manifest;
  readonly seconds: number;
  /** Data set bytes: what the snapshot read (the sum of the manifest's data sets). */
  readonly bytes: number;
  /** Seconds in takeSnapshot's copy phases (SQLite online backup and row counts, in a worker) and upload phases (name in the worker; pack, compress, seal, store), over all data sets; the rest is manifest, tombstones, retention and prune, audit. */
  readonly copySeconds: number;
  readonly uploadSeconds: number;
  /** What the snapshot was doing from when (performance.now()), from its progress events; the last entry is its end. */
  readonly timeline: ReadonlyArray<{ readonly at: number; readonly label: string }>;
}

async function timedRun(app: Tresor): Promise<SnapshotTiming> {
  const timeline: Array<{ at: number; label: string; kind: 'copy' | 'upload' | 'other' }> = [{ at: performance.now(), label: "listing the repository's chunks", kind: 'other' }];
  const enter = (label: string, kind: 'copy' | 'upload' | 'other') => {
    if (timeline.at(-1)?.label !== label) timeline.push({ at: performance.now(), label, kind });
  };
  let ticked = performance.now();
  const progress: Progress = (event) => {
    // A long snapshot says where it is, every 30 s.
    if (performance.now() - ticked > 30_000) {
      ticked = performance.now();
      process.stdout.write(`[${event.phase} ${event.dataSet}${event.phase === 'upload' ? ` ${mib(event.done)}/${mib(event.total)} MiB` : ''}] `);
    }
    if (event.phase === 'copy') enter(`copy: ${event.dataSet}`, 'copy');
    else if (event.phase === 'upload') {
      enter(`chunk, name, seal, store: ${event.dataSet}`, 'upload');
      // The last chunk of a data set: the next data set, or the end (the copy is removed in the background).
      if (event.done === event.total) enter(`chunked: ${event.dataSet}`, 'other');
    }
  };
  const started = performance.now();
  const report = await app.backups.run({ progress, reason: 'bench' });
  const last = timeline.at(-1);
  if (last !== undefined && last.kind === 'other') last.label += '; then manifest, tombstones, retention, audit';
  timeline.push({ at: performance.now(), label: 'end', kind: 'other' });
  const seconds = (performance.now() - started) / 1000;
  const phaseSeconds = (kind: 'copy' | 'upload') => timeline.slice(0, -1).reduce((sum, entry, i) => sum + (entry.kind === kind ? ((timeline[i + 1] as { at: number }).at - entry.at) / 1000 : 0), 0);
  return { manifest: report.manifest, seconds, bytes: report.manifest.dataSets.reduce((n, d) => n + d.bytes, 0), copySeconds: phaseSeconds('copy'), uploadSeconds: phaseSeconds('upload'), timeline };
}

/** Seconds a snapshot spent in the phase of this label (the timeline's label up to the first ';'). */
/**
 * Where a snapshot slowed the writer: its event loop blocks of 100 ms or more (by the phases they
 * spanned), and writes slower than `slowMs` (by the phase they were due in, with the offset).
 */
function stallsByPhase(timing: SnapshotTiming, l: Latencies, slowMs: number): Array<{ label: string; blocks: number; longestBlockMs: number; slow: number; slowestMs: number; at: string }> {
  const phaseOf = (t: number) => {
    let index = -1;
    timing.timeline.forEach((entry, i) => {
      if (entry.at <= t && i < timing.timeline.length - 1) index = i;
    });
    return index;
  };
  const labelOf = (i: number) => (i < 0 ? 'before the snapshot' : (timing.timeline[i]?.label ?? 'after the snapshot'));
  const rows = new Map<string, { order: number; blocks: number; longestBlockMs: number; slow: number; slowestMs: number; slowestAt: number; from: number }>();
  const row = (key: string, order: number, from: number) => rows.get(key) ?? rows.set(key, { order, blocks: 0, longestBlockMs: 0, slow: 0, slowestMs: 0, slowestAt: 0, from }).get(key)!;
  // A block counts under every phase it spanned: a progress event fired inside it (synchronous
  // work such as row counting runs between one phase's last event and the next one's first).
  for (const [at, length] of l.blocks) {
    const first = phaseOf(at);
    const last = phaseOf(at + length);
    const key = Array.from({ length: last - first + 1 }, (_, k) => labelOf(first + k)).join(' → ');
    const r = row(key, first, timing.timeline[first]?.at ?? at);
    r.blocks += 1;
    if (length > r.longestBlockMs) r.longestBlockMs = length;
  }
  for (const [due, latency] of l.samples) {
    if (latency < slowMs) continue;
    const i = phaseOf(due);
    const r = row(labelOf(i), i, timing.timeline[i]?.at ?? due);
    r.slow += 1;
    if (latency > r.slowestMs) {
      r.slowestMs = latency;
      r.slowestAt = due;
    }
  }
  return [...rows]
    .sort((a, b) => a[1].order - b[1].order)
    .map(([label, r]) => ({ label, blocks: r.blocks, longestBlockMs: r.longestBlockMs, slow: r.slow, slowestMs: r.slowestMs, at: r.slow === 0 ? '' : `+${fixed((r.slowestAt - r.from) / 1000, 1)} s` }));
}

// ── Formatting ──────────────────────────────────────────────────────────────────────────────

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const ms = (value: number) => fixed(value, value < 10 ? 2 : 1);
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
const mib = (bytes: number) => fixed(bytes / MiB, 1);
const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

function machineLines(dataParent: string, date: Date): string[] {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const fs = statfsSync(dataParent);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return [
    `- Date: ${date.toISOString()}`,
    `- Command: \`${commandLine()}\``,
    `- CPU: ${model} × ${os.availableParallelism()} (from /proc/cpuinfo; load average at the start ${load})`,
    `- Memory: ${fixed(os.totalmem() / 2 ** 30, 1)} GiB total, ${fixed(os.freemem() / 2 ** 30, 1)} GiB free at the start`,
    `- Disk: ${dataParent}, ${fixed(free / 2 ** 30, 1)} GiB free at the start (data directory, repository, restores and copies all on it)`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()}); Node ${process.version}; SQLite ${sqliteVersion()}, synchronous=FULL`,
  ];
}


function commandLine(): string {
  const vars = ['BENCH_BACKUP_MIB', 'BENCH_BACKUP_WRITE_RATE', 'BENCH_BACKUP_CHUNK_KIB', 'BENCH_ONLY'].filter((name) => (process.env[name] ?? '') !== '').map((name) => `${name}=${process.env[name] as string}`);
  const selected = process.env['TRESOR_BENCH_SELECTED'];
  // scripts/run-bench.mjs says which selection started this file.
  const command =
    process.env['npm_lifecycle_event'] !== 'bench' || selected === undefined ? 'node --import tsx bench/backup.ts' : (process.env['BENCH_ONLY'] ?? '') !== '' ? 'npm run bench' : `npm run bench -- ${selected}`;
  return [...vars, command].join(' ');
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const date = new Date();
  const work = mkdtempSync(join(os.tmpdir(), 'tresor-bench-backup-'));
  const dataDir = join(work, 'data');
  const repository = join(work, 'repository');
  const machine = machineLines(os.tmpdir(), date);
  console.log(`Tresor backup benchmark: a ${sizeMiB} MiB tenant\n${machine.join('\n')}\n`);

  let app: Tresor | undefined;
  const stopping = () => {
    // Ctrl-C: remove the gigabyte of temporary files before leaving.
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', stopping);
  process.once('SIGTERM', stopping);
  try {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        server: { tls: { enabled: false } },
        log: { level: 'silent' },
        storage: { engine: 'sqlite' },
        // The scheduler is off: the bench calls backups.run() itself, at the moments it measures.
        backup: { repository, schedule: false, ...(process.env['BENCH_BACKUP_CHUNK_KIB'] === undefined ? {} : { chunkKiB: Number(process.env['BENCH_BACKUP_CHUNK_KIB']) }) },
      },
    });
    warmFhirValidator(supportedTypes);
    app = await buildApp(config);
    await app.tenants.create(tenantId, 'Backup benchmark');
    const tenantFile = app.storage.describeTenant(tenantId);
    const db = await app.storage.tenant(tenantId);
    const writer = writerOf(app, db);

    // 1. The data set.
    process.stdout.write(`1. filling tenant ${tenantId} to ${sizeMiB} MiB through records.prepare/createIn + audit.appendIn … `);
    const seedStarted = performance.now();
    const practitioners = (await writer.create(Array.from({ length: practitionerCount }, (_, n) => ({ type: 'Practitioner', body: practitioner(n) })))).map((p) => p.id);
    const seeded: Seeded[] = [];
    const patients: Seeded[] = [];
    let n = 0;
    let lastReport = performance.now();
    while (sizeOf(tenantFile) + sizeOf(`${tenantFile}-wal`) < targetBytes) {
      const groups: Array<Promise<void>> = [];
      // A few transactions at once: group commit folds them into one COMMIT, as under load.
      for (let g = 0; g < 4; g += 1) {
        const items: Array<{ type: Seeded['type']; body: Record<string, unknown>; n: number; practitionerId: string }> = [];
        for (let p = 0; p < patientsPerTransaction; p += 1) {
          const patientN = (n += 1);
          const practitionerId = practitioners[patientN % practitioners.length] as string;
          items.push({ type: 'Patient', body: patient(patientN), n: patientN, practitionerId });
        }
        groups.push(
          (async () => {
            // Patients first (their data keys are made by prepare), then what refers to them.
            const created = await writer.create(items.map(({ type, body }) => ({ type, body })));
            const rest: Array<{ type: Seeded['type']; body: Record<string, unknown>; n: number; patientId: string; practitionerId: string }> = [];
            created.forEach((stored, i) => {
              const item = items[i] as (typeof items)[number];
              const record: Seeded = { type: 'Patient', id: stored.id, n: item.n, patientId: stored.id, practitionerId: item.practitionerId };
              seeded.push(record);
              patients.push(record);
              for (let o = 0; o < observationsPerPatient; o += 1) {
                const on = item.n * 100 + o;
                rest.push({ type: 'Observation', body: observation(stored.id, item.practitionerId, on), n: on, patientId: stored.id, practitionerId: item.practitionerId });
              }
              for (let a = 0; a < appointmentsPerPatient; a += 1) {
                const an = item.n * 100 + a;
                rest.push({ type: 'Appointment', body: appointment(stored.id, item.practitionerId, an), n: an, patientId: stored.id, practitionerId: item.practitionerId });
              }
            });
            const stored = await writer.create(rest.map(({ type, body }) => ({ type, body })));
            stored.forEach((s, i) => {
              const item = rest[i] as (typeof rest)[number];
              seeded.push({ type: item.type, id: s.id, n: item.n, patientId: item.patientId, practitionerId: item.practitionerId });
            });
          })(),
        );
      }
      await Promise.all(groups);
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        process.stdout.write(`${mib(sizeOf(tenantFile) + sizeOf(`${tenantFile}-wal`))} MiB … `);
      }
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const dataSetFiles = () => [join(dataDir, 'platform.db'), join(dataDir, 'keys.db'), ...readdirSync(join(dataDir, 'tenants')).filter((f) => f.endsWith('.db')).map((f) => join(dataDir, 'tenants', f))];
    // Quiet before measuring: audit events still to be chained, then the WALs checkpointed.
    await app.audit.settle(tenantId);
    for (const file of dataSetFiles()) checkpoint(file);
    const tenantBytes = sizeOf(tenantFile);
    const counts = { records: seeded.length + practitioners.length, patients: patients.length };
    console.log(`${int(counts.records)} records (${int(counts.patients)} patients) in ${fixed(seedSeconds, 1)} s = ${int(counts.records / seedSeconds)} records/s; tenant file ${mib(tenantBytes)} MiB`);

    // 2. Full snapshot, and the plain copy of the same files.
    process.stdout.write('2. full snapshot (backups.run into an empty local repository) … ');
    const copy1Dir = join(work, 'copy-1');
    const baselineFull = plainCopy(dataSetFiles().flatMap(withWal), copy1Dir);
    const full = await timedRun(app);
    const repoAfterFull = directoryBytes(repository);
    console.log(`${fixed(full.seconds, 1)} s = ${fixed(full.bytes / MB / full.seconds, 0)} MB/s; plain copy ${fixed(baselineFull.seconds, 1)} s = ${fixed(baselineFull.bytes / MB / baselineFull.seconds, 0)} MB/s`);

    // 3. 1 % of the records changed, then the next snapshot.
    const changeCount = Math.max(1, Math.round(seeded.length * changeFraction));
    process.stdout.write(`3. updating ${int(changeCount)} records (1 %, uniformly at random), one transaction each … `);
    const random = prng(7);
    const chosen = new Set<number>();
    while (chosen.size < changeCount) chosen.add(Math.floor(random() * seeded.length));
    const changeStarted = performance.now();
    const queue = [...chosen].sort((a, b) => a - b);
    // 64 callers at a time, as concurrent requests would be (group commit).
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const record = seeded[next] as Seeded;
          await writer.update(record.type, record.id, bodyOf(record, 2));
        }
      }),
    );
    const changeSeconds = (performance.now() - changeStarted) / 1000;
    process.stdout.write(`${fixed(changeSeconds, 1)} s; snapshot … `);
    for (const file of dataSetFiles()) checkpoint(file);
    const repoBefore = directoryBytes(repository);
    const incremental = await timedRun(app);
    const repoAfter = directoryBytes(repository);
    const copy2Dir = join(work, 'copy-2');
    const baselineAgain = plainCopy(dataSetFiles().flatMap(withWal), copy2Dir);
    const addedPercent = (incremental.manifest.added.bytes / full.bytes) * 100;
    console.log(`${fixed(incremental.seconds, 1)} s, added ${mib(incremental.manifest.added.bytes)} MiB = ${fixed(addedPercent, 2)} % of ${mib(full.bytes)} MiB`);
    // Which pages changed, and whose (diagnostics for the result).
    const fullTenant = full.manifest.dataSets.find((d) => d.kind === 'tenant' && d.id === tenantId);
    const incrementalTenant = incremental.manifest.dataSets.find((d) => d.kind === 'tenant' && d.id === tenantId);
    if (fullTenant === undefined || incrementalTenant === undefined) throw new Error('the snapshot has no bench tenant');
    const tenantCopyName = tenantFile.slice(tenantFile.lastIndexOf('/') + 1);
    const pageDiff = changedPages(join(copy1Dir, tenantCopyName), join(copy2Dir, tenantCopyName), fullTenant.chunkBytes);
    const knownChunks = new Set(full.manifest.dataSets.flatMap((d) => d.chunks));
    const addedBySet = incremental.manifest.dataSets.map((d) => ({ label: d.kind === 'tenant' ? `tenant ${d.id}` : d.kind, bytes: d.bytes, chunks: d.chunks.length, newChunks: new Set(d.chunks.filter((c) => !knownChunks.has(c))).size }));
    rmSync(copy1Dir, { recursive: true, force: true });
    rmSync(copy2Dir, { recursive: true, force: true });

    // 4. Full restore of the tenant (and the key store), and the plain copy back.
    process.stdout.write('4. restore of the tenant and the key store into a new directory (backups.restoreTo) … ');
    const restoreDir = join(work, 'restored');
    const restoreStarted = performance.now();
    const restored = await app.backups.restoreTo(incremental.manifest.id, restoreDir, { tenant: tenantId });
    const restoreSeconds = (performance.now() - restoreStarted) / 1000;
    const restoredBytes = incremental.manifest.dataSets.filter((d) => (d.kind === 'tenant' && d.id === tenantId) || d.kind === 'keys').reduce((sum, d) => sum + d.bytes, 0);
    rmSync(restoreDir, { recursive: true, force: true });
    const baselineRestore = plainCopy([tenantFile, join(dataDir, 'keys.db')].flatMap(withWal), join(work, 'copy-back'));
    rmSync(join(work, 'copy-back'), { recursive: true, force: true });
    console.log(`${restored.dataSets} data sets, ${mib(restoredBytes)} MiB in ${fixed(restoreSeconds, 1)} s; plain copy ${fixed(baselineRestore.seconds, 1)} s`);

    // 5. Write stall: the writer alone, then during an incremental snapshot (the 15-minute one of
    // a running server), then during a first full snapshot into an empty repository (the worst case).
    const writeCounter = { n: 0 };
    const stallSeconds = Math.min(60, Math.max(10, full.seconds));
    process.stdout.write(`5. writer at ${writeRate}/s alone for ${fixed(stallSeconds, 0)} s … `);
    const alone = await openLoopWriter(writer, patients, practitioners, writeRate, new Promise((resolve) => setTimeout(resolve, stallSeconds * 1000)), writeCounter);
    console.log(`p50 ${ms(alone.p50)} / p99 ${ms(alone.p99)} / max ${ms(alone.max)} ms`);
    const walAlone = sizeOf(`${tenantFile}-wal`);
    process.stdout.write('   … during an incremental snapshot … ');
    const duringIncrementalRun = timedRun(app);
    const duringIncremental = await openLoopWriter(writer, patients, practitioners, writeRate, duringIncrementalRun, writeCounter);
    const stallIncremental = await duringIncrementalRun;
    const walIncremental = sizeOf(`${tenantFile}-wal`);
    console.log(`p50 ${ms(duringIncremental.p50)} / p99 ${ms(duringIncremental.p99)} / max ${ms(duringIncremental.max)} ms (snapshot ${fixed(stallIncremental.seconds, 1)} s, added ${mib(stallIncremental.manifest.added.bytes)} MiB)`);
    renameSync(repository, `${repository}-measured`);
    rmSync(`${repository}-measured`, { recursive: true, force: true });
    process.stdout.write('   … during a full snapshot (empty repository) … ');
    const duringFullRun = timedRun(app);
    const duringFull = await openLoopWriter(writer, patients, practitioners, writeRate, duringFullRun, writeCounter);
    const stallFull = await duringFullRun;
    const walFull = sizeOf(`${tenantFile}-wal`);
    console.log(`p50 ${ms(duringFull.p50)} / p99 ${ms(duringFull.p99)} / max ${ms(duringFull.max)} ms (snapshot ${fixed(stallFull.seconds, 1)} s)`);

    // ── Report ──
    const slowMs = Math.max(100, 5 * alone.p99);
    const fullMBps = full.bytes / MB / full.seconds;
    const baselineMBps = baselineFull.bytes / MB / baselineFull.seconds;
    const chunkKiB = fullTenant.chunkBytes / 1024;
    const stallRow = (name: string, l: Latencies, snapshotSeconds: number | undefined) =>
      `| ${name} | ${snapshotSeconds === undefined ? '—' : fixed(snapshotSeconds, 1)} | ${int(l.writes)} | ${l.failed} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${fixed(l.p99 / alone.p99, 2)} | ${ms(l.loopMaxMs)} |`;
    const lines = [
      `# Tresor backup benchmark, ${date.toISOString().slice(0, 10)}`,
      '',
      ...machine,
      `- Tresor in-process (buildApp + loadConfig, SQLite, no HTTP listener); backup chunk size ${chunkKiB} KiB (backup.chunkKiB); repository: a local directory on the same disk. MB = 10^6 bytes, MiB = 2^20.`,
      '',
      '## Data set',
      '',
      `One tenant of ${int(counts.records)} FHIR records — ${int(counts.patients)} Patients, each with ${observationsPerPatient} Observations (5 kinds, some with notes) and ${appointmentsPerPatient} Appointments, and ${practitionerCount} Practitioners — written through records.prepare → createIn + audit.appendIn (the \`POST /fhir/{type}\` path without HTTP), in transactions of ${patientsPerTransaction} Patients and then of their ${patientsPerTransaction * (observationsPerPatient + appointmentsPerPatient)} Observations and Appointments, four transactions at a time (group commit): sealed fields, search index, reference links, a data key per patient, a chained audit event per record. ${fixed(seedSeconds, 1)} s (${int(counts.records / seedSeconds)} records/s).`,
      '',
      `Tenant file: ${mib(tenantBytes)} MiB; the snapshot's data sets (platform, key store, tenant, operators): ${mib(full.bytes)} MiB.`,
      '',
      '## Results',
      '',
      '| measurement | Tresor | baseline (same run) | baseline is | ratio | target | result |',
      '|---|---:|---:|---|---:|---|---|',
      `| full snapshot | ${fixed(full.seconds, 2)} s = **${fixed(fullMBps, 0)} MB/s** | ${fixed(baselineFull.seconds, 2)} s = ${fixed(baselineMBps, 0)} MB/s | copyFileSync + fsync of the same ${dataSetFiles().length} SQLite files | ${fixed(fullMBps / baselineMBps, 2)} | ≥ ${targets.fullMBps} MB/s | ${met(fullMBps >= targets.fullMBps)} |`,
      `| snapshot after changing 1 % of records | adds ${mib(incremental.manifest.added.bytes)} MiB = **${fixed(addedPercent, 2)} %** of the full size | ${mib(baselineAgain.bytes)} MiB = 100 % | copying every file again | ${fixed(addedPercent / 100, 3)} | ≤ ${targets.changedPercent} % | ${met(addedPercent <= targets.changedPercent)} |`,
      `| full restore (tenant + key store, ${mib(restoredBytes)} MiB) | **${fixed(restoreSeconds, 2)} s** (${fixed(restoredBytes / MB / restoreSeconds, 0)} MB/s) | ${fixed(baselineRestore.seconds, 2)} s (${fixed(baselineRestore.bytes / MB / baselineRestore.seconds, 0)} MB/s) | copyFileSync + fsync of the live files into a new directory | ${fixed(restoreSeconds / baselineRestore.seconds, 2)} | ≤ ${targets.restoreSeconds} s | ${met(restoreSeconds <= targets.restoreSeconds)} |`,
      `| write-stall p99 during an incremental snapshot | **${ms(duringIncremental.p99)} ms** | ${ms(alone.p99)} ms | the same writer, no snapshot running | ${fixed(duringIncremental.p99 / alone.p99, 2)} | reported (no number set) | — |`,
      `| write-stall p99 during a full snapshot | **${ms(duringFull.p99)} ms** | ${ms(alone.p99)} ms | the same writer, no snapshot running | ${fixed(duringFull.p99 / alone.p99, 2)} | reported (no number set) | — |`,
      '',
      'Ratios: Tresor ÷ baseline (MB/s for the snapshot, seconds for the restore, added bytes ÷ a full copy for the 1 % change, p99 ÷ p99 for the stall).',
      '',
      '### Full snapshot: where the time goes',
      '',
      `\`backups.run()\`: ${fixed(full.seconds, 2)} s = copy (in memory when it fits, else SQLite's online backup into a file, and row counts, in a worker thread, all data sets) ${fixed(full.copySeconds, 2)} s + chunking (HMAC naming in that worker; packing, LZ4-compressing, sealing and storing each ~8 MiB pack, 4 in flight, each synced as it is written, named by one syncfs before the index and the manifest) ${fixed(full.uploadSeconds, 2)} s + the rest (manifest, tombstones, retention and prune, audit events) ${fixed(full.seconds - full.copySeconds - full.uploadSeconds, 2)} s. It stored ${int(full.manifest.added.chunks)} chunks, ${mib(full.manifest.added.bytes)} MiB (${fixed((full.uploadSeconds * 1000) / full.manifest.added.chunks, 2)} ms per chunk); the repository directory holds ${int(repoAfterFull.files)} files, ${mib(repoAfterFull.bytes)} MiB. Copy phase alone: ${fixed(full.bytes / MB / full.copySeconds, 0)} MB/s. Phases (seconds from the start): ${full.timeline.map((e) => `${e.label} +${fixed((e.at - (full.timeline[0] as { at: number }).at) / 1000, 2)}`).join('; ')}.`,
      '',
      '### The 1 % change',
      '',
      `${int(changeCount)} of ${int(seeded.length)} seeded records (drawn uniformly at random: Patients, Observations and Appointments alike) updated through records.prepare → updateIn + a \`record.updated\` audit event, one transaction each, 64 at a time, in ${fixed(changeSeconds, 1)} s. The next \`backups.run()\` took ${fixed(incremental.seconds, 2)} s (copy ${fixed(incremental.copySeconds, 2)} s, chunking and naming ${fixed(incremental.uploadSeconds, 2)} s) and added ${int(incremental.manifest.added.chunks)} chunks = ${mib(incremental.manifest.added.bytes)} MiB (the repository directory grew by ${mib(repoAfter.bytes - repoBefore.bytes)} MiB, manifest and tombstone list included).`,
      '',
      '| data set | size MiB | chunks | new chunks | new % |',
      '|---|---:|---:|---:|---:|',
      ...addedBySet.map((d) => `| ${d.label} | ${mib(d.bytes)} | ${int(d.chunks)} | ${int(d.newChunks)} | ${fixed((d.newChunks / d.chunks) * 100, 1)} |`),
      '',
      `Pages of the tenant file that differ between plain copies taken before and after the change: ${int(pageDiff.changed)} of ${int(pageDiff.pages)} ${pageDiff.pageSize}-byte pages (${fixed((pageDiff.changed / pageDiff.pages) * 100, 2)} %; ${int(pageDiff.appended)} of them appended at the end), falling into ${int(pageDiff.chunks)} of the ${int(Math.ceil((pageDiff.pages * pageDiff.pageSize) / fullTenant.chunkBytes))} ${chunkKiB} KiB chunks. Stored page by page they would be ${mib(pageDiff.changed * pageDiff.pageSize)} MiB = ${fixed(((pageDiff.changed * pageDiff.pageSize) / full.bytes) * 100, 2)} % of the full size; page by page and compressed (deflate level 1, each page alone) ${mib(pageDiff.deflatedBytes)} MiB = ${fixed((pageDiff.deflatedBytes / full.bytes) * 100, 2)} %. By owner (SQLite dbstat):`,
      '',
      '| table or index | changed pages | share |',
      '|---|---:|---:|',
      ...pageDiff.byOwner.map(([owner, pages]) => `| ${owner} | ${int(pages)} | ${fixed((pages / pageDiff.changed) * 100, 1)} % |`),
      '',
      '### Restore',
      '',
      `\`backups.restoreTo(<second snapshot>, <new dir>, { tenant })\` — what \`tresor backup restore --tenant T --to DIR\` runs: every chunk read, opened (AES-GCM) and its name checked (HMAC), written and fsync'd, each file checked against its SHA-256, tombstones applied to the key store. The repository's chunks were in the page cache (written minutes before); so were the live files the baseline copied.`,
      '',
      '### Write stall',
      '',
      `An open-loop writer offers ${writeRate} creates/s (one Observation per transaction with its audit event, the \`POST\` path without HTTP) in the process that runs the snapshot, as the server's scheduler does; each latency counts from the moment the write was due, so time the event loop was blocked counts. Baseline: the same writer for ${fixed(stallSeconds, 0)} s with no snapshot running. The incremental snapshot holds the writer's own records since the previous snapshot (${int(stallIncremental.manifest.added.chunks)} new chunks, ${mib(stallIncremental.manifest.added.bytes)} MiB); the full one goes into an emptied repository, so every chunk is stored again.`,
      '',
      '| writer | snapshot s | writes | failed | p50 ms | p99 ms | max ms | p99 ratio to baseline | event loop max block ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      stallRow('alone (baseline)', alone, undefined),
      stallRow('during an incremental snapshot', duringIncremental, stallIncremental.seconds),
      stallRow('during a full snapshot (empty repository)', duringFull, stallFull.seconds),
      '',
      `Where the stalls come from: event loop blocks of 100 ms or more, and writes slower than ${int(slowMs)} ms (5 × the baseline p99, at least 100 ms), by the snapshot phases (from its progress events) a block spanned (A → B: a phase began inside the block) and the phase a slow write was due in ("+s": the slowest write's offset into that phase). Largest size the tenant's WAL file reached: ${mib(walAlone)} MiB after the writer alone, ${mib(walIncremental)} MiB after the incremental snapshot, ${mib(walFull)} MiB after the full one (a WAL grows while a snapshot's copy holds its read transaction, and the commit that next checkpoints it writes the backlog into the database file on the event loop).`,
      '',
      ...(
        [
          ['incremental snapshot', stallIncremental, duringIncremental],
          ['full snapshot', stallFull, duringFull],
        ] as const
      ).flatMap(([name, timing, l]) => [
        `During the ${name}:`,
        '',
        '| phase | event loop blocks ≥ 100 ms | longest block ms | slow writes | slowest ms | at |',
        '|---|---:|---:|---:|---:|---:|',
        ...(() => {
          const rows = stallsByPhase(timing, l, slowMs);
          return rows.length === 0
            ? ['| (none) | 0 | — | 0 | — | |']
            : rows.map((r) => `| ${r.label} | ${r.blocks} | ${r.blocks === 0 ? '—' : ms(r.longestBlockMs)} | ${r.slow} | ${r.slow === 0 ? '—' : ms(r.slowestMs)} | ${r.at} |`);
        })(),
        '',
      ]),
      `The writer alone had ${alone.blocks.length} event loop blocks of 100 ms or more (longest ${alone.blocks.length === 0 ? '—' : ms(Math.max(...alone.blocks.map((b) => b[1])))} ms) and ${alone.samples.filter(([, latency]) => latency >= slowMs).length} writes slower than ${int(slowMs)} ms.`,
      '',
    ];
    const markdown = lines.join('\n');
    console.log(`\n${markdown}`);
    const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${date.toISOString().slice(0, 10)}-backup${sizeMiB === 1024 ? '' : `-${sizeMiB}mib`}.md`);
    writeFileSync(file, markdown);
    console.log(`Written to ${file}`);
    if (duringFull.failed + duringIncremental.failed + alone.failed > 0) {
      console.error('Some writes failed: see the "failed" column.');
      process.exitCode = 1;
    }
  } finally {
    await app?.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    process.off('SIGINT', stopping);
    process.off('SIGTERM', stopping);
  }
}

try {
  await main();
} catch (error) {
  console.error('\nbackup benchmark failed:', error);
  process.exitCode = 1;
}
