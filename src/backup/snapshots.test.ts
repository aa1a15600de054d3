import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { backupKeysFrom } from './backup-keys.js';
import { BackupError } from './errors.js';
import { checkObjectName, type Repository } from './repository.js';
import { damagePackOf, locateChunk } from '../../test/support/packs.js';
import { formatOf, listSnapshotIds, manifestPath, readManifest, removeStaleScratch, restoreFiles, takeSnapshot, verifySnapshot, type DataSetRef, type Manifest } from './snapshots.js';

/** The repository contract in memory (the real ones are tested in repository.test.ts). */
function memoryRepository(): Repository & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return {
    objects,
    display: 'memory',
    async put(name, data) {
      checkObjectName(name);
      objects.set(name, Buffer.from(data));
    },
    async get(name) {
      const found = objects.get(name);
      if (found === undefined) throw new BackupError('object-missing', `no ${name}`, { status: 404 });
      return Buffer.from(found);
    },
    async has(name) {
      return objects.has(name);
    },
    async list(prefix) {
      return [...objects.keys()].filter((n) => n.startsWith(`${prefix}/`)).sort();
    },
    async delete(name) {
      objects.delete(name);
    },
    async close() {},
  };
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A live-like database: WAL, a table of rows with a marker in each. */
function liveDatabase(rows: number, marker: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-snap-'));
  dirs.push(dir);
  const file = join(dir, 'tenant.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO items (body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`${marker} ${i} ${randomBytes(64).toString('hex')}`);
  })();
  return { dir, file, db };
}

const keys = backupKeysFrom(randomBytes(32));
const deps = (repository: Repository) => ({ repository, keys, tresorVersion: 'test', chunkBytes: 16 * 1024 });

describe('snapshots (SQLite data sets)', () => {
  it('round trip: a snapshot restores to the same database, and nothing readable reaches the repository', async () => {
    const marker = `MARKER-${randomBytes(6).toString('hex')}`;
    const live = liveDatabase(2000, marker);
    const repository = memoryRepository();
    const refs: DataSetRef[] = [{ kind: 'tenant', id: 'clinic', file: live.file }];
    const manifest = await takeSnapshot(deps(repository), refs, Date.UTC(2026, 11, 1, 12));
    assert.deepEqual(await listSnapshotIds(repository), [manifest.id]);
    assert.equal(manifest.dataSets[0]?.counts['items'], 2000);
    for (const [name, data] of repository.objects) {
      assert.ok(!data.includes(marker) && !data.toString('utf16le').includes(marker) && !data.toString('base64').includes(Buffer.from(marker).toString('base64').slice(0, 12)), `${name} holds plaintext`);
      assert.ok(!name.includes('clinic'), 'object names say nothing of tenants');
    }
    const target = mkdtempSync(join(tmpdir(), 'tresor-restored-'));
    dirs.push(target);
    const [restored] = await restoreFiles({ repository, keys }, await readManifest(repository, keys, manifest.id), target);
    const db = new Database(restored?.file as string, { readonly: true });
    assert.equal(db.prepare('SELECT COUNT(*) FROM items').pluck().get(), 2000);
    assert.match(String(db.prepare('SELECT body FROM items WHERE id = 7').pluck().get()), new RegExp(`^${marker} 6 `));
    db.close();
    assert.equal((await verifySnapshot({ repository, keys }, manifest.id)).dataSets, 1);
    live.db.close();
  });

  it('deduplicates: a snapshot after a small change stores only the chunks that changed', async () => {
    const live = liveDatabase(20_000, 'row');
    const repository = memoryRepository();
    const refs: DataSetRef[] = [{ kind: 'tenant', id: 'clinic', file: live.file }];
    const first = await takeSnapshot(deps(repository), refs, Date.UTC(2026, 11, 1, 12));
    live.db.prepare('UPDATE items SET body = ? WHERE id IN (5, 6, 7)').run('changed');
    const second = await takeSnapshot(deps(repository), refs, Date.UTC(2026, 11, 1, 12, 15));
    const total = first.dataSets[0]?.chunks.length as number;
    assert.ok(total > 50, `a data set of many chunks (${total})`);
    assert.ok(second.added.chunks <= 4, `the second snapshot added ${second.added.chunks} of ${total} chunks`);
    live.db.close();
  });

  it('copies consistently while writes go on, without holding up the writer', async () => {
    const live = liveDatabase(5_000, 'row');
    const repository = memoryRepository();
    let writes = 0;
    let stop = false;
    let longest = 0;
    const writer = (async () => {
      const insert = live.db.prepare('INSERT INTO items (body) VALUES (?)');
      while (!stop) {
        const t0 = performance.now();
        insert.run(randomBytes(200).toString('hex'));
        longest = Math.max(longest, performance.now() - t0);
        writes += 1;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const manifest = await takeSnapshot(deps(repository), [{ kind: 'tenant', id: 'clinic', file: live.file }], Date.now());
    stop = true;
    await writer;
    assert.ok(writes > 0, 'the writer kept writing during the snapshot');
    assert.ok(longest < 100, `no write waited ${longest.toFixed(1)} ms`);
    const report = await verifySnapshot({ repository, keys }, manifest.id);
    assert.equal(report.dataSets, 1);
    const count = manifest.dataSets[0]?.counts['items'] as number;
    assert.ok(count >= 5_000 && count <= 5_000 + writes, 'a consistent point in time');
    live.db.close();
  });

  it('a damaged, swapped or missing chunk, or another backup key, is named and restores nothing', async () => {
    const live = liveDatabase(3000, 'row');
    const repository = memoryRepository();
    const manifest = await takeSnapshot(deps(repository), [{ kind: 'tenant', id: 'clinic', file: live.file }], Date.now());
    const [a, b] = manifest.dataSets[0]?.chunks as [string, string];
    const target = mkdtempSync(join(tmpdir(), 'tresor-restored-'));
    dirs.push(target);
    const repair = await damagePackOf(repository, keys, a);
    await assert.rejects(verifySnapshot({ repository, keys }, manifest.id), (e) => e instanceof BackupError && e.code === 'object-corrupt' && e.message.includes(a));
    await repair();
    // A pack presented under another name does not open: the name is bound into its seal.
    const { pack: packOfB } = await locateChunk(repository, keys, b);
    await assert.rejects(keys.openPack(`packs/00/${'0'.repeat(32)}.pack`, await repository.get(packOfB)), (e) => e instanceof BackupError && e.code === 'object-corrupt', 'a pack stored under another name');
    const at = await locateChunk(repository, keys, a);
    const pack = repository.objects.get(at.pack) as Buffer;
    repository.objects.delete(at.pack);
    await assert.rejects(restoreFiles({ repository, keys }, manifest, target), (e) => e instanceof BackupError && e.code === 'object-missing' && e.message.includes(a));
    repository.objects.set(at.pack, pack);
    await assert.rejects(readManifest(repository, backupKeysFrom(randomBytes(32)), manifest.id), (e) => e instanceof BackupError && e.code === 'manifest-invalid');
    const truncated = (repository.objects.get(`snapshots/${manifest.id}.manifest`) as Buffer).subarray(0, 40);
    repository.objects.set(`snapshots/${manifest.id}.manifest`, truncated);
    await assert.rejects(readManifest(repository, keys, manifest.id), (e) => e instanceof BackupError && e.code === 'manifest-invalid');
    assert.deepEqual((await import('node:fs')).readdirSync(join(target, 'tenants')), [], 'no file that looks restored');
    live.db.close();
  });

  it('a chunk resealed with other content (a valid seal, the wrong bytes) is named, and restores nothing', async () => {
    const live = liveDatabase(20_000, 'row');
    const repository = memoryRepository();
    const manifest = await takeSnapshot(deps(repository), [{ kind: 'tenant', id: 'clinic', file: live.file }], Date.now());
    const chunks = manifest.dataSets[0]?.chunks as string[];
    assert.ok(chunks.length > 130, `chunks in several batches (${chunks.length})`);
    const target = mkdtempSync(join(tmpdir(), 'tresor-restored-'));
    dirs.push(target);
    // Names are checked by the writer's worker and, for every other batch of 1 MiB (64 chunks
    // of 16 KiB), by the event loop's thread: a victim in each.
    for (const victim of [chunks[10] as string, chunks[100] as string]) {
      // What someone holding the backup key, or a bug, could write: the pack opens, one chunk lies.
      const at = await locateChunk(repository, keys, victim);
      const original = repository.objects.get(at.pack) as Buffer;
      const plain = await keys.openPack(at.pack, original);
      plain[at.offset + 100] = (plain[at.offset + 100] as number) ^ 0xff;
      repository.objects.set(at.pack, await keys.sealPack(at.pack, plain));
      await assert.rejects(restoreFiles({ repository, keys }, manifest, target), (e) => e instanceof BackupError && e.code === 'object-corrupt' && e.message.includes(`chunk ${victim} of tenant clinic does not hold what its name says`));
      assert.deepEqual((await import('node:fs')).readdirSync(join(target, 'tenants')), [], 'no file, not even a partial one');
      await assert.rejects(verifySnapshot({ repository, keys }, manifest.id), (e) => e instanceof BackupError && e.message.includes(victim));
      repository.objects.set(at.pack, original);
    }
    await restoreFiles({ repository, keys }, manifest, target);
    live.db.close();
  });

  it('restores a snapshot whose chunks are spread over the packs of many snapshots, in small packs and batches', async () => {
    const live = liveDatabase(20_000, 'row');
    const repository = memoryRepository();
    const small = { ...deps(repository), chunkBytes: 4096, packBytes: 64 * 1024 };
    const refs: DataSetRef[] = [{ kind: 'tenant', id: 'clinic', file: live.file }];
    await takeSnapshot(small, refs, Date.UTC(2026, 11, 1, 12));
    let last: Manifest | undefined;
    for (let round = 1; round <= 4; round += 1) {
      // Scattered updates: every later snapshot's new chunks interleave with the first one's.
      live.db.prepare('UPDATE items SET body = ? WHERE id % 97 = ?').run(`round ${round} ${randomBytes(20).toString('hex')}`, round);
      last = await takeSnapshot(small, refs, Date.UTC(2026, 11, 1, 12, 15 * round));
    }
    assert.ok(((await repository.list('packs')).length) > 20, 'many packs');
    const target = mkdtempSync(join(tmpdir(), 'tresor-restored-'));
    dirs.push(target);
    const [restored] = await restoreFiles({ repository, keys }, last as Manifest, target);
    const db = new Database(restored?.file as string, { readonly: true });
    assert.equal(db.prepare("SELECT COUNT(*) FROM items WHERE body LIKE 'round 4 %'").pluck().get(), live.db.prepare("SELECT COUNT(*) FROM items WHERE body LIKE 'round 4 %'").pluck().get());
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    live.db.close();
  });

  it('records each data set’s format, and still reads manifests written before there were formats (SQLite files)', async () => {
    const live = liveDatabase(1000, 'row');
    const repository = memoryRepository();
    const manifest = await takeSnapshot(deps(repository), [{ kind: 'tenant', id: 'clinic', file: live.file }], Date.now());
    assert.equal(manifest.engine, 'sqlite');
    assert.equal(manifest.dataSets[0]?.format, 'sqlite-file/1');
    assert.equal(manifest.dataSets[0]?.migrations, undefined);
    // The manifest as the first version wrote it: no `format` on its data sets.
    const old: Manifest = { ...manifest, dataSets: manifest.dataSets.map(({ format: _format, ...rest }) => rest) };
    repository.objects.set(manifestPath(manifest.id), keys.sealManifest(manifest.id, Buffer.from(JSON.stringify(old), 'utf8')));
    const read = await readManifest(repository, keys, manifest.id);
    assert.equal(read.dataSets[0]?.format, undefined);
    assert.equal(formatOf(read.dataSets[0] as Manifest['dataSets'][number]), 'sqlite-file/1');
    assert.equal((await verifySnapshot({ repository, keys }, manifest.id)).dataSets, 1);
    const target = mkdtempSync(join(tmpdir(), 'tresor-restored-'));
    dirs.push(target);
    assert.equal((await restoreFiles({ repository, keys }, read, target)).length, 1);
    await assert.rejects(
      takeSnapshot(deps(repository), [{ kind: 'tenant', id: 'clinic', file: live.file }, { engine: 'postgres', kind: 'tenant', id: 'other', schema: 'x', pool: undefined as never }], Date.now()),
      TypeError,
      'one snapshot, one engine',
    );
    live.db.close();
  });

  it('keeps plaintext copies in a private scratch directory under the data directory, and removes what a killed run left', async () => {
    const live = liveDatabase(500, 'row');
    const repository = memoryRepository();
    const { mkdirSync, readdirSync } = await import('node:fs');
    // A run killed with -9: its scratch directory (a pid that does not run) and its plaintext copy.
    const stale = join(live.dir, '.backup-999999-abc');
    mkdirSync(stale);
    const mine = join(live.dir, `.backup-${process.pid}-def`);
    mkdirSync(mine);
    // The copy through a file (a data set too large to copy in memory).
    await takeSnapshot({ ...deps(repository), scratchParent: live.dir, memoryLimitBytes: 0 }, [{ kind: 'tenant', id: 'clinic', file: live.file }], Date.now());
    const left = readdirSync(live.dir).filter((n) => n.startsWith('.'));
    assert.deepEqual(left, [`.backup-${process.pid}-def`], 'the dead run’s copy is gone, a live process’s kept, and this run cleaned up after itself');
    assert.deepEqual(removeStaleScratch(live.dir), []);
    live.db.close();
  });
});
