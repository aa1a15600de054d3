import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createLookupCache } from './lookup-cache.js';
import { openSqliteDatabase } from './sqlite.js';
import type { SqlDatabase } from './types.js';

describe('lookup cache', () => {
  it('on SQLite, forgets everything when another process commits', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cache-')), 'x.db');
    const db = openSqliteDatabase(file);
    await db.execute('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
    await db.execute('INSERT INTO kv VALUES (?, ?)', ['a', 'one']);
    const cache = createLookupCache<string>(db, { ttlMs: 60_000, maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return (await db.query<{ v: string }>('SELECT v FROM kv WHERE k = ?', ['a']))[0]?.v;
    };
    assert.equal(await cache.get('a', load), 'one');
    assert.equal(await cache.get('a', load), 'one');
    assert.equal(loads, 1, 'second read is served from the cache');
    const other = new Database(file); // stands in for the admin CLI
    other.prepare('UPDATE kv SET v = ? WHERE k = ?').run('two', 'a');
    other.close();
    await new Promise((resolve) => setTimeout(resolve, 2));
    assert.equal(await cache.get('a', load), 'two', 'a commit elsewhere invalidates within a millisecond');
    await db.close();
  });

  it('without change reports, keeps an entry at most ttlMs and never caches misses', async () => {
    let t = 0;
    const db = { dataVersion: () => undefined } as unknown as SqlDatabase;
    const cache = createLookupCache<string>(db, { ttlMs: 1000, maxEntries: 2, now: () => t });
    let value: string | undefined;
    const load = async () => value;
    assert.equal(await cache.get('k', load), undefined);
    value = 'v1';
    assert.equal(await cache.get('k', load), 'v1', 'a miss was not cached');
    value = 'v2';
    t = 999;
    assert.equal(await cache.get('k', load), 'v1');
    t = 1001;
    assert.equal(await cache.get('k', load), 'v2');
    cache.delete('k');
    value = 'v3';
    assert.equal(await cache.get('k', load), 'v3');
  });

  it('drops one group of keys (one tenant\'s) and keeps the others', async () => {
    const db = { dataVersion: () => undefined } as unknown as SqlDatabase;
    const cache = createLookupCache<string>(db, { ttlMs: 60_000, maxEntries: 10, now: () => 0 });
    let loads = 0;
    const load = (value: string) => async () => ((loads += 1), value);
    await cache.get('clinic-a|kek|1', load('a1'));
    await cache.get('clinic-a|data|x', load('a2'));
    await cache.get('clinic-ab|kek|1', load('ab'));
    cache.deleteGroup('clinic-a');
    assert.equal(await cache.get('clinic-ab|kek|1', load('other')), 'ab', 'a tenant whose id starts alike is untouched');
    assert.equal(loads, 3);
    assert.equal(await cache.get('clinic-a|kek|1', load('a1 again')), 'a1 again', 'the dropped group loads again');
    assert.equal(await cache.get('clinic-a|data|x', load('a2 again')), 'a2 again');
  });
});
