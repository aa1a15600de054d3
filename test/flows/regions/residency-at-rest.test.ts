import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateBackupKey } from '../../../src/backup/index.js';
import { json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { keyRows } from '../../support/key-store.js';

/**
 * Data residency at rest: two regions on this machine — the home region A (the top-level
 * settings) and B (its own data directory, master key and backup repository). A tenant in B gets
 * records with markers; a backup runs; then region A's data directory and backup repository are
 * scanned for B's markers (UTF-8, UTF-16 and base64, as the at-rest test does), A's key store is
 * read for B's keys, and B's files are looked for under A.
 */
const markers: string[] = [];
const m = (what: string) => {
  const marker = `Rq${what}Mk${markers.length}x`;
  markers.push(marker);
  return marker;
};

function encodings(marker: string): Buffer[] {
  const out = [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le'), Buffer.from(Buffer.from(marker, 'utf16le').swap16())];
  for (let shift = 0; shift < 3; shift += 1) {
    const encoded = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(marker, 'utf8')]).toString('base64');
    out.push(Buffer.from(encoded.slice(4, -4)), Buffer.from(encoded.slice(4, -4).replace(/\+/g, '-').replace(/\//g, '_')));
  }
  return out;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile());
}

/** Which of `wanted` occur in which files under `dir`: `<file relative to dir>: <marker>`. */
function scan(dir: string, wanted: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const marker of wanted) if (encodings(marker).some((needle) => bytes.includes(needle))) found.push(`${relative(dir, file)}: ${marker}`);
  }
  return found;
}


describe('a tenant in region B leaves nothing in region A [sqlite]', () => {
  let t: TestApp;
  let dirB: string;
  let repoA: string;
  let repoB: string;
  const tenantB = 'bravo-rq';
  const tenantA = 'alpha-rq';
  const idsB: string[] = [];

  before(async () => {
    dirB = mkdtempSync(join(tmpdir(), 'tresor-region-b-'));
    repoA = mkdtempSync(join(tmpdir(), 'tresor-repo-a-'));
    repoB = mkdtempSync(join(tmpdir(), 'tresor-repo-b-'));
    t = await startTestApp('sqlite', {
      backup: { repository: repoA, key: generateBackupKey(), schedule: false },
      audit: { checkpointEveryEvents: 1 },
      regions: { default: { label: 'A', location: 'Frankfurt, DE' }, b: { dataDir: dirB, location: 'Zürich, CH', backup: { repository: repoB, key: generateBackupKey() } } },
    });
    const created = await t.app.tenants.create(tenantB, 'Bravo clinic', 'b');
    assert.equal(created.region, 'b');
    const keyB = await t.key(tenantB, 'service');
    const keyA = await t.tenant(tenantA);
    for (let i = 0; i < 3; i += 1) {
      const made = await t.inject({ method: 'POST', url: `/tenants/${tenantB}/fhir/Patient`, key: keyB, body: patient({ name: [{ family: m('family'), given: [m('given')] }], identifier: [{ system: 'urn:oid:1.2.3', value: m('identifier') }] }) });
      assert.equal(made.statusCode, 201, made.body);
      const id = json(made)['id'] as string;
      idsB.push(id);
      const obs = await t.inject({ method: 'POST', url: `/tenants/${tenantB}/fhir/Observation`, key: keyB, body: observation(id, { note: [{ text: m('note') }] }) });
      assert.equal(obs.statusCode, 201, obs.body);
      // Read back: the keys that open it are found in region B.
      const read = await t.inject({ method: 'GET', url: `/tenants/${tenantB}/fhir/Patient/${id}`, key: keyB });
      assert.equal(read.statusCode, 200);
      assert.match(read.body, new RegExp(markers[markers.length - 3] as string));
    }
    // A tenant in A, so that A's data directory and repository hold records too.
    assert.equal((await t.inject({ method: 'POST', url: `/tenants/${tenantA}/fhir/Patient`, key: keyA, body: patient() })).statusCode, 201);
    const report = await t.app.backups.run({ reason: 'residency test' });
    assert.ok(report.manifest.dataSets.some((d) => d.id === tenantA), 'the home snapshot holds the home region’s tenant');
  });

  after(async () => {
    await t?.close();
    for (const dir of [dirB, repoA, repoB]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('puts B’s data set and audit checkpoints under B only', async () => {
    assert.ok(existsSync(join(dirB, 'tenants', `${tenantB}.db`)));
    assert.ok(!existsSync(join(t.dataDir, 'tenants', `${tenantB}.db`)));
    assert.ok(existsSync(join(t.dataDir, 'tenants', `${tenantA}.db`)));
    assert.ok(!existsSync(join(dirB, 'tenants', `${tenantA}.db`)));
    assert.ok(existsSync(join(dirB, 'master-key.json')), 'region B has a master key of its own');
    assert.deepEqual(
      filesUnder(t.dataDir).filter((f) => f.includes(tenantB)),
      [],
      'no file of B’s tenant under A',
    );
    // Checkpoints are written after the events, off the request path.
    for (let i = 0; i < 200 && !existsSync(join(dirB, 'audit-checkpoints', `${tenantB}.jsonl`)); i += 1) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(join(dirB, 'audit-checkpoints', `${tenantB}.jsonl`)), 'B’s audit checkpoints are in B');
    assert.ok(!existsSync(join(t.dataDir, 'audit-checkpoints', `${tenantB}.jsonl`)));
    assert.equal(t.app.storage.describeTenant(tenantB), join(dirB, 'tenants', `${tenantB}.db`));
    assert.equal(t.app.residency.regionDataDir(tenantB), dirB);
    assert.equal(t.app.residency.regionDataDir(tenantA), t.dataDir);
  });

  it('keeps B’s keys in B’s key store, wrapped under B’s master key', async () => {
    assert.equal(keyRows(join(t.dataDir, 'keys.db'), tenantB), 0, 'no key of B in A’s key store');
    assert.ok(keyRows(join(dirB, 'keys.db'), tenantB) > 0, 'B’s keys are in B’s key store');
    assert.equal(keyRows(join(dirB, 'keys.db'), tenantA), 0);
    assert.ok(keyRows(join(t.dataDir, 'keys.db'), tenantA) > 0);
    // B's master key opens B's keys: the same records read back after the key caches are emptied.
    t.app.keys.forget();
    const keyB = await t.key(tenantB, 'service');
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenantB}/fhir/Patient/${idsB[0]}`, key: keyB })).statusCode, 200);
  });

  it('leaves no byte of B’s markers in A’s data directory or backup repository', async () => {
    const wanted = [...markers, ...idsB];
    // The scan can find: B's record ids are in clear in B's data set.
    assert.ok(scan(dirB, idsB).length > 0, 'the scan finds B’s ids where they are');
    assert.deepEqual(scan(t.dataDir, wanted), []);
    assert.deepEqual(scan(repoA, wanted), []);
    // The tenant's id is in the platform registry (home region, not regionalised) and nowhere else in A.
    assert.deepEqual(
      scan(t.dataDir, [tenantB]).filter((hit) => !hit.startsWith('platform.db')),
      [],
    );
    const snapshots = await t.app.backups.list();
    assert.ok(snapshots.length > 0);
    for (const { manifest } of snapshots) assert.ok(!manifest.dataSets.some((d) => d.id === tenantB), `snapshot ${manifest.id} in A’s repository holds no data set of B`);
  });
  it('rotates and shreds B’s keys in B’s key store', async () => {
    const keyB = await t.key(tenantB, 'service');
    const { job } = await t.app.rotation.start('tenant', tenantB);
    const done = await t.app.rotation.run(job.id);
    assert.equal(done.phase, 'done');
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenantB}/fhir/Patient/${idsB[1]}`, key: keyB })).statusCode, 200);
    assert.equal(keyRows(join(t.dataDir, 'keys.db'), tenantB), 0, 'rotation made no key of B in A');
    assert.ok((await t.app.keys.shred(tenantB, `Patient/${idsB[2]}`)) > 0);
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenantB}/fhir/Patient/${idsB[2]}`, key: keyB })).statusCode, 410);
    const db = new Database(join(dirB, 'keys.db'), { readonly: true, fileMustExist: true });
    try {
      const live = db.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE tenant_id = ? AND subject = ? AND wrapped IS NOT NULL').get(tenantB, `Patient/${idsB[2]}`) as { n: number };
      assert.equal(live.n, 0, 'the shredded key is destroyed in B’s key store');
    } finally {
      db.close();
    }
  });
});
