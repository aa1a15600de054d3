import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStorage, type Storage } from './storage.js';
import { sqliteDefaults } from './sqlite.js';
import type { Migration } from './types.js';

const tenantTable: Migration = { id: 'test/001', up: { sqlite: (t) => [`CREATE TABLE ${t('items')} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`], postgres: () => [] } };

async function storageWith(maxOpen: number, waitMs = 5000): Promise<{ storage: Storage; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'open-set-'));
  const storage = await openStorage({ engine: 'sqlite', dataDir, sqlite: sqliteDefaults, tenants: { maxOpen, waitMs } }, { platform: [], keys: [], tenant: [tenantTable] });
  return { storage, dataDir };
}

const descriptors = () => readdirSync('/proc/self/fd').length;
const tenantNames = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

describe('open set of tenant data sets (SQLite)', () => {
  it('never holds more than its bound open, in data sets or in file descriptors, however many tenants are used', async () => {
    const { storage } = await storageWith(4);
    const ids = tenantNames(40);
    for (const id of ids) await storage.tenant(id, { create: true });
    const before = descriptors();
    let most = 0;
    // Concurrent writes and reads to ten times more tenants than the bound.
    for (let round = 0; round < 3; round += 1) {
      await Promise.all(
        ids.map(async (id, i) => {
          const db = await storage.tenant(id);
          await db.execute('INSERT INTO items (id, name) VALUES (?, ?)', [round * 100 + i, `${id}-${round}`]);
          most = Math.max(most, storage.openTenants());
          assert.equal((await db.query('SELECT id FROM items')).length, round + 1);
          most = Math.max(most, storage.openTenants());
        }),
      );
    }
    assert.ok(most <= 4, `at most 4 open at once, saw ${most}`);
    assert.ok(most >= 2, 'the set was used');
    // Each SQLite data set holds a handful of descriptors: 4 open ones cannot reach 40 tenants' worth.
    assert.ok(descriptors() - before <= 4 * 6, `descriptors grew by ${descriptors() - before}`);
    await storage.close();
  });

  it('does not close a data set under a transaction that is still running, and commits it', async () => {
    const { storage, dataDir } = await storageWith(3);
    const ids = tenantNames(12);
    for (const id of ids) await storage.tenant(id, { create: true });
    const slow = await storage.tenant('t0');
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    let started!: () => void;
    const inside = new Promise<void>((resolve) => (started = resolve));
    const slowWrite = slow.transaction(async (tx) => {
      await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'slow']);
      started();
      await gate;
      await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [2, 'slow']);
      return 'committed';
    });
    await inside;
    // Every other tenant is used meanwhile, several times over the bound.
    for (const id of ids.slice(1)) await (await storage.tenant(id)).execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, id]);
    assert.ok(storage.openTenants() <= 3);
    proceed();
    assert.equal(await slowWrite, 'committed');
    for (const id of ids.slice(1)) await (await storage.tenant(id)).query('SELECT 1');
    await storage.close();
    // Durable in the file itself, read by a fresh process-level open.
    const again = await reopen(dataDir, 3);
    assert.deepEqual((await (await again.tenant('t0')).query<{ id: number }>('SELECT id FROM items ORDER BY id')).map((r) => r.id), [1, 2]);
    await again.close();
  });

  it('reopens a closed data set on its next call, through a handle taken before it closed', async () => {
    const { storage } = await storageWith(2);
    const closed: string[] = [];
    storage.onTenantClosed((id) => closed.push(id));
    const a = await storage.tenant('a', { create: true });
    await a.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'kept']);
    const versionBefore = a.dataVersion();
    await storage.tenant('b', { create: true });
    await storage.tenant('c', { create: true });
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed.includes('a'), 'the least recently used data set closed to make room');
    assert.equal(a.dataVersion(), undefined, 'a closed data set cannot tell its version');
    assert.deepEqual(await a.query('SELECT name FROM items'), [{ name: 'kept' }]);
    assert.notEqual(a.dataVersion(), versionBefore, 'the version never repeats across openings');
    await storage.close();
  });

  it('closes the least recently used data set, not the one just used', async () => {
    const { storage } = await storageWith(2);
    const closed: string[] = [];
    storage.onTenantClosed((id) => closed.push(id));
    const a = await storage.tenant('a', { create: true });
    await storage.tenant('b', { create: true });
    await a.query('SELECT 1');
    await storage.tenant('a');
    await storage.tenant('c', { create: true });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(closed, ['b']);
    await storage.close();
  });

  it('closes what a background visit opened once the visit ends, and leaves open what was open', async () => {
    const { storage, dataDir } = await storageWith(10);
    for (const id of tenantNames(5)) await storage.tenant(id, { create: true });
    await storage.close();
    const fresh = await reopen(dataDir, 10);
    await fresh.tenant('t0');
    assert.equal(fresh.openTenants(), 1);
    let most = 0;
    for (const id of tenantNames(5)) {
      await fresh.visitTenant(id, async () => {
        // Code deep inside a job takes the data set the usual way.
        await (await fresh.tenant(id)).query('SELECT count(*) AS n FROM items');
        most = Math.max(most, fresh.openTenants());
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(most, 2, 'one visited data set open at a time, next to the one in use');
    assert.equal(fresh.openTenants(), 1, 'only the data set a caller opened stays open');
    await fresh.close();
  });

  it('a tenant a request uses while a background visit opened it stays open after the visit', async () => {
    const { storage, dataDir } = await storageWith(10);
    for (const id of tenantNames(2)) await storage.tenant(id, { create: true });
    await storage.close();
    const fresh = await reopen(dataDir, 10);
    // A request that began before the visit opened the data set, and reaches it during the visit.
    const early = fresh.requestUses('t0');
    await fresh.visitTenant('t0', async () => {
      await (await fresh.tenant('t0')).query('SELECT count(*) AS n FROM items');
    });
    // A request that arrives while the visit holds the data set it opened.
    let late!: () => void;
    await fresh.visitTenant('t1', async () => {
      late = fresh.requestUses('t1');
      await (await fresh.tenant('t1')).query('SELECT count(*) AS n FROM items');
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fresh.openTenants(), 2, 'a data set in use by a request is not closed with the visit');
    early();
    late();
    // Once open for requests, a later visit leaves it open.
    await fresh.visitTenant('t0', async () => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fresh.openTenants(), 2);
    await fresh.close();
  });

  it('background visits of open data sets do not make them look more recently used than the one requests use', async () => {
    const { storage, dataDir } = await storageWith(4);
    for (const id of tenantNames(5)) await storage.tenant(id, { create: true });
    await storage.close();
    const fresh = await reopen(dataDir, 4);
    const closed: string[] = [];
    fresh.onTenantClosed((id) => closed.push(id));
    // Three data sets open from earlier requests, then the one in use now.
    for (const id of ['t0', 't1', 't2']) await (await fresh.tenant(id)).query('SELECT 1 AS one');
    await (await fresh.tenant('t3')).query('SELECT 1 AS one');
    // A job visits the older ones (their queries too), then a fifth data set needs a slot.
    for (const id of ['t0', 't1', 't2']) await fresh.visitTenant(id, async (db) => void (await db.query('SELECT count(*) AS n FROM items')));
    await fresh.visitTenant('t4', async () => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!closed.includes('t3'), `the data set requests used last stays open (closed: ${closed.join(', ')})`);
    await fresh.close();
  });

  it('when every open data set is in use, an open waits for a free one, and answers 503 at its deadline', async () => {
    const { storage } = await storageWith(4, 100);
    for (const id of tenantNames(5)) await storage.tenant(id, { create: true });
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    // Every holder inside its visit (its data set open and leased) before the fifth asks: a
    // fixed pause lost that race on a loaded machine.
    let entered = 0;
    let allIn!: () => void;
    const inside = new Promise<void>((resolve) => (allIn = resolve));
    const holders = tenantNames(4).map((id) =>
      storage.visitTenant(id, () => {
        entered += 1;
        if (entered === 4) allIn();
        return gate;
      }),
    );
    await inside;
    await assert.rejects(
      storage.tenant('t4'),
      (error: { code?: string; status?: number; headers?: Record<string, string> }) => error.code === 'storage-unavailable' && error.status === 503 && error.headers?.['retry-after'] === '1',
    );
    const waiting = storage.visitTenant('t4', async (db) => (await db.query('SELECT 1 AS one'))[0]);
    proceed();
    await Promise.all(holders);
    assert.deepEqual(await waiting, { one: 1 });
    await storage.close();
  });

  it('replaces a data set under waiting callers: they reach the new one', async () => {
    const { storage, dataDir } = await storageWith(4);
    const a = await storage.tenant('a', { create: true });
    await a.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'old']);
    const b = await storage.tenant('b', { create: true });
    await b.execute('INSERT INTO items (id, name) VALUES (?, ?)', [1, 'new']);
    await storage.close();
    const live = await reopen(dataDir, 4);
    const handle = await live.tenant('a');
    let read: Promise<unknown> | undefined;
    await live.replaceTenant('a', async (target) => {
      read = handle.query('SELECT name FROM items');
      copyFileSync(join(dataDir, 'tenants', 'b.db'), target);
    });
    assert.deepEqual(await read, [{ name: 'new' }]);
    await live.close();
  });

  it('holds every new lease while an exclusive hold runs, whether the data set was open or not', async () => {
    const { storage } = await storageWith(4);
    try {
      await storage.tenant('held', { create: true });
      for (const round of ['open', 'closed']) {
        const order: string[] = [];
        let waiting: Promise<void> | undefined;
        await storage.replaceTenant('held', async () => {
          waiting = storage.visitTenant('held', async () => void order.push('lease'));
          await new Promise((resolve) => setTimeout(resolve, 30));
          order.push('install');
        });
        await waiting;
        assert.deepEqual(order, ['install', 'lease'], `data set ${round}: the lease waited for the hold`);
      }
    } finally {
      await storage.close();
    }
  });
});

function reopen(dataDir: string, maxOpen: number): Promise<Storage> {
  return openStorage({ engine: 'sqlite', dataDir, sqlite: sqliteDefaults, tenants: { maxOpen, waitMs: 5000 } }, { platform: [], keys: [], tenant: [tenantTable] });
}
