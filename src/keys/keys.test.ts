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
    assert.equal(await provider.rotate(), 2);
    assert.equal(await provider.currentVersion(), 2);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).current, 2);
    assert.deepEqual(await createLocalKeyProvider({ file }).unwrap(old, 'aad', 1), Buffer.alloc(32, 1));
  });

  it('reads a key ring from the environment and refuses to rotate it', async () => {
    const provider = createLocalKeyProvider({ env: generateKeyRing() });
    assert.equal(await provider.currentVersion(), 1);
    await assert.rejects(provider.rotate(), (e: { code?: string }) => e.code === 'key-provider-failed');
    assert.throws(() => createLocalKeyProvider({ env: '{"format":"tresor-master-keys/1","current":1,"keys":{"1":"c2hvcnQ="}}' }));
  });
});

async function keyService() {
  const dir = tmp();
  const db = openSqliteDatabase(join(dir, 'keys.db'));
  await migrate(db, keysMigrations, 'keys', Date.now);
  return { db, keys: createKeys({ db, provider: createLocalKeyProvider({ file: join(dir, 'master-key.json') }), clock: systemClock }) };
}

describe('key hierarchy', () => {
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
});
