import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../platform/clock.js';
import { openSqliteDatabase } from '../platform/db/sqlite.js';
import { migrate } from '../platform/db/migrate.js';
import { createKeys, tenantSubject } from './keys.js';
import { createLocalKeyProvider, generateKeyRing } from './local-key-provider.js';
import { keysMigrations } from './migrations.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'keys-'));

describe('local key provider', () => {
  it('creates a 0600 key ring at first use and wraps under its current version', async () => {
    const file = join(tmp(), 'master-key.json');
    const provider = createLocalKeyProvider({ file });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const wrapped = await provider.wrap(Buffer.alloc(32, 7), 'aad', 1);
    assert.deepEqual(await createLocalKeyProvider({ file }).unwrap(wrapped, 'aad', 1), Buffer.alloc(32, 7), 'a restart reads the same ring');
    await assert.rejects(provider.unwrap(wrapped, 'other', 1));
  });

  it('refuses a key file that group or others can read', () => {
    const file = join(tmp(), 'master-key.json');
    createLocalKeyProvider({ file });
    chmodSync(file, 0o644);
    assert.throws(() => createLocalKeyProvider({ file }), (e: { code?: string }) => e.code === 'key-file-unsafe');
  });

  it('rotates to a new version and still opens the old one', async () => {
    const file = join(tmp(), 'master-key.json');
    const provider = createLocalKeyProvider({ file });
    const old = await provider.wrap(Buffer.alloc(32, 1), 'aad', 1);
    assert.deepEqual(await provider.rotate(), { version: 2, created: true });
    assert.equal(await provider.currentVersion(), 2);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).current, 2);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(await createLocalKeyProvider({ file }).unwrap(old, 'aad', 1), Buffer.alloc(32, 1));
  });

  it('sees another process rotate and retire: wraps under the new version, unwraps with it, forgets the retired one', async () => {
    const file = join(tmp(), 'master-key.json');
    const server = createLocalKeyProvider({ file });
    const cli = createLocalKeyProvider({ file });
    const underOne = await server.wrap(Buffer.alloc(32, 3), 'aad', 1);
    assert.deepEqual(await cli.rotate(), { version: 2, created: true });
    assert.equal(await server.currentVersion(), 2, 'the server reads the rotated ring');
    const underTwo = await cli.wrap(Buffer.alloc(32, 4), 'aad', 2);
    assert.deepEqual(await server.unwrap(underTwo, 'aad', 2), Buffer.alloc(32, 4));
    assert.equal(await cli.retire([1]), true);
    assert.deepEqual(await server.versions(), [2]);
    await assert.rejects(server.unwrap(underOne, 'aad', 1), (e: { code?: string }) => e.code === 'key-missing');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /"1":/, 'the retired version left the file');
  });

  it('reads a key ring from the environment, where rotation and retirement belong to the operator', async () => {
    const provider = createLocalKeyProvider({ env: generateKeyRing() });
    assert.equal(await provider.currentVersion(), 1);
    assert.deepEqual(await provider.rotate(), { version: 1, created: false });
    assert.equal(await provider.retire([1]), false);
    assert.throws(() => createLocalKeyProvider({ env: '{"format":"tresor-master-keys/1","current":1,"keys":{"1":"c2hvcnQ="}}' }));
  });
});

async function keyService() {
  const dir = tmp();
  const db = openSqliteDatabase(join(dir, 'keys.db'));
  await migrate(db, keysMigrations, 'keys', Date.now);
  const provider = createLocalKeyProvider({ file: join(dir, 'master-key.json') });
  return { db, provider, keys: createKeys({ db, provider, clock: systemClock }) };
}

describe('key hierarchy', () => {
  it('forgets one tenant\'s unwrapped keys (its data set closed) and no other tenant\'s', async () => {
    const { provider, keys } = await keyService();
    let unwraps = 0;
    const unwrap = provider.unwrap.bind(provider);
    provider.unwrap = (...args) => ((unwraps += 1), unwrap(...args));
    const a = await keys.dataKeyFor('clinic-a', 'Patient/anna');
    const b = await keys.dataKeyFor('clinic-b', 'Patient/bob');
    await keys.dataKey('clinic-a', a.keyId, a.version);
    await keys.dataKey('clinic-b', b.keyId, b.version);
    const warm = unwraps;
    keys.forgetTenant('clinic-a');
    await keys.dataKey('clinic-b', b.keyId, b.version);
    assert.equal(unwraps, warm, 'the other tenant\'s keys stay cached');
    assert.deepEqual((await keys.dataKey('clinic-a', a.keyId, a.version)).key, a.key, 'unwrapped again, the same key');
    assert.equal(unwraps, warm + 1, 'the forgotten tenant\'s key-encryption key was unwrapped again');
  });

  it('gives each subject its own data key, stable across calls, and a tenant key for the rest', async () => {
    const { db, keys } = await keyService();
    const anna = await keys.dataKeyFor('clinic', 'Patient/anna');
    assert.deepEqual(await keys.dataKeyFor('clinic', 'Patient/anna'), anna);
    const bob = await keys.dataKeyFor('clinic', 'Patient/bob');
    assert.notDeepEqual(bob.key, anna.key);
    const tenantWide = await keys.dataKeyFor('clinic', tenantSubject);
    assert.notDeepEqual(tenantWide.key, anna.key);
    assert.deepEqual((await keys.dataKey('clinic', anna.keyId, anna.version)).key, anna.key);
    const rows = await db.query<{ wrapped: Uint8Array }>('SELECT wrapped FROM data_keys');
    assert.ok(rows.every((r) => !Buffer.from(r.wrapped).includes(anna.key)), 'only wrapped keys are stored');
    await db.close();
  });

  it('binds a wrapped key to its tenant: copied to another tenant it does not open', async () => {
    const { db, keys } = await keyService();
    const anna = await keys.dataKeyFor('clinic-a', 'Patient/anna');
    await keys.dataKeyFor('clinic-b', 'Patient/x'); // clinic-b gets its own KEK
    await db.execute("INSERT INTO data_keys (tenant_id, key_id, subject, version, wrapped, kek_version, created_at) SELECT 'clinic-b', key_id, subject, version, wrapped, kek_version, created_at FROM data_keys WHERE tenant_id = 'clinic-a'");
    await assert.rejects(keys.dataKey('clinic-b', anna.keyId, 1), (e: { code?: string }) => e.code === 'integrity-failed');
    await db.close();
  });

  it('shreds one subject: its key is gone for good, every other key still opens', async () => {
    const { db, keys } = await keyService();
    const anna = await keys.dataKeyFor('clinic', 'Patient/anna');
    const bob = await keys.dataKeyFor('clinic', 'Patient/bob');
    assert.equal(await keys.shred('clinic', 'Patient/anna'), 1);
    await assert.rejects(keys.dataKey('clinic', anna.keyId, anna.version), (e: { code?: string; status?: number }) => e.code === 'key-shredded' && e.status === 410);
    assert.deepEqual((await keys.dataKey('clinic', bob.keyId, bob.version)).key, bob.key);
    assert.equal((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM data_keys WHERE wrapped IS NULL'))[0]?.n, 1);
    await assert.rejects(keys.shred('clinic', tenantSubject), (e: { code?: string }) => e.code === 'subject-invalid');
    await db.close();
  });

  it('rotates a tenant: new writes get a new version of the same key at once, the old one opens until retired', async () => {
    const { db, keys } = await keyService();
    const v1 = await keys.dataKeyFor('clinic', 'Patient/anna');
    const bob = await keys.dataKeyFor('clinic', 'Patient/bob');
    assert.equal(await keys.generation('clinic'), 1);
    assert.equal(await keys.beginGeneration('clinic', 2), true);
    assert.equal(await keys.beginGeneration('clinic', 2), false, 'idempotent');
    const v2 = await keys.dataKeyFor('clinic', 'Patient/anna');
    assert.equal(v2.keyId, v1.keyId);
    assert.equal(v2.version, 2);
    assert.notDeepEqual(v2.key, v1.key);
    assert.deepEqual((await keys.dataKey('clinic', v1.keyId, 1)).key, v1.key, 'the old version still opens');
    assert.equal((await keys.dataKeyFor('clinic', 'Patient/new')).version, 2, 'a new subject starts at the current generation');
    // Bob's old version is still referenced by stored data: kept; Anna's is not: retired.
    assert.deepEqual(await keys.retireBefore('clinic', 2, [bob.keyId]), { dataKeys: 1, keks: 0 });
    await assert.rejects(keys.dataKey('clinic', v1.keyId, 1), (e: { code?: string }) => e.code === 'key-missing');
    assert.deepEqual((await keys.dataKey('clinic', bob.keyId, 1)).key, bob.key);
    await keys.dataKeyFor('clinic', 'Patient/bob');
    assert.deepEqual(await keys.retireBefore('clinic', 2, []), { dataKeys: 1, keks: 1 }, 'the old KEK goes with the last data key it wrapped');
    assert.deepEqual(
      (await keys.census()).filter((c) => c.kind !== 'index').map((c) => [c.kind, c.version, c.live]),
      [
        ['data', 2, 3],
        ['kek', 2, 1],
      ],
    );
    await db.close();
  });

  it('never makes a live key for a shredded subject, rotation or not', async () => {
    const { db, keys } = await keyService();
    await keys.dataKeyFor('clinic', 'Patient/anna');
    await keys.beginGeneration('clinic', 2);
    // A rotation job and a shred at the same moment: whichever way they interleave, nothing of Anna's stays live.
    const [made] = await Promise.allSettled([keys.dataKeyFor('clinic', 'Patient/anna'), keys.shred('clinic', 'Patient/anna')]);
    assert.ok(made.status === 'rejected' || made.value.version === 2);
    assert.equal((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM data_keys WHERE subject = 'Patient/anna' AND wrapped IS NOT NULL"))[0]?.n, 0);
    await assert.rejects(keys.dataKeyFor('clinic', 'Patient/anna'), (e: { code?: string }) => e.code === 'key-shredded');
    await db.close();
  });

  it('re-wraps tenant keys under a new master version, after which the old one is unused', async () => {
    const { db, keys, provider } = await keyService();
    const anna = await keys.dataKeyFor('clinic', 'Patient/anna');
    await keys.indexKey('clinic');
    await provider.rotate();
    assert.equal(await keys.countBelowMaster(2), 2);
    assert.deepEqual(await keys.unusedMasterVersions(), []);
    assert.equal(await keys.rewrapUnderMaster(1), 1, 'a batch at a time');
    assert.equal(await keys.rewrapUnderMaster(10), 1);
    assert.equal(await keys.rewrapUnderMaster(10), 0);
    assert.deepEqual(await keys.unusedMasterVersions(), [1]);
    await provider.retire([1]);
    keys.forget();
    assert.deepEqual((await keys.dataKey('clinic', anna.keyId, 1)).key, anna.key, 'everything opens without the retired master version');
    await db.close();
  });
});
