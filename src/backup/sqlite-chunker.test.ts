import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { backupKeysFrom } from './backup-keys.js';
import { chunkSqliteDatabase } from './sqlite-chunker.js';

const dir = mkdtempSync(join(tmpdir(), 'tresor-chunker-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = backupKeysFrom(randomBytes(32));

function database(name: string, rows: number): string {
  const file = join(dir, name);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO items (body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i += 1) insert.run(randomBytes(100).toString('hex'));
  })();
  db.close();
  return file;
}

describe('chunking a SQLite database in a worker', () => {
  it('names every chunk as BackupKeys.chunkName does, in order, in bounded batches; the hash is the copy’s', async () => {
    const source = database('a.db', 5000);
    const copy = join(dir, 'a-copy.db');
    const names: string[] = [];
    const parts: Buffer[] = [];
    let batches = 0;
    const result = await chunkSqliteDatabase({ source, copy, chunkBytes: 5000, nameKey: keys.chunkNameKey(), batchBytes: 64 * 1024, buffers: 2, memoryLimitBytes: 0 }, async (batchNames, data, chunkBytes) => {
      batches += 1;
      assert.ok(data.length <= 64 * 1024);
      for (let at = 0, i = 0; at < data.length; at += chunkBytes, i += 1) {
        const chunk = data.subarray(at, Math.min(data.length, at + chunkBytes));
        assert.equal(batchNames.toString('hex', i * 16, i * 16 + 16), keys.chunkName(chunk));
        names.push(keys.chunkName(chunk));
      }
      parts.push(Buffer.from(data)); // lent: copied before the batch goes back
      await new Promise((resolve) => setTimeout(resolve, 1)); // a slow consumer: the worker waits
    });
    assert.equal(result.chunkBytes, 8192, 'rounded up to a multiple of the 4096-byte page');
    assert.equal(result.copiedBy, 'backup');
    assert.equal(result.counts['items'], 5000);
    const whole = Buffer.concat(parts);
    assert.equal(whole.length, result.size);
    assert.equal(createHash('sha256').update(whole).digest('hex'), result.sha256);
    assert.deepEqual(whole.subarray(0, 16), readFileSync(copy).subarray(0, 16), 'the copy stays for the caller to remove');
    assert.ok(batches > 5 && names.length === Math.ceil(result.size / 8192));
  });

  it('stops the worker and passes on the consumer’s failure', async () => {
    const source = database('b.db', 3000);
    let calls = 0;
    await assert.rejects(
      chunkSqliteDatabase({ source, copy: join(dir, 'b-copy.db'), chunkBytes: 4096, nameKey: keys.chunkNameKey(), batchBytes: 16 * 1024 }, async () => {
        calls += 1;
        if (calls === 3) throw new Error('the repository is full');
      }),
      /the repository is full/,
    );
    assert.equal(calls, 3);
  });

  it('fails clearly for a file that is not there, making no copy', async () => {
    const copy = join(dir, 'c-copy.db');
    await assert.rejects(chunkSqliteDatabase({ source: join(dir, 'missing.db'), copy, chunkBytes: 4096, nameKey: keys.chunkNameKey() }, async () => undefined), /copying .*missing\.db: /);
    assert.equal(existsSync(copy), false);
  });

  it('copies in memory when the data set fits, else with the online backup into the copy file; both give the same chunks', async () => {
    const source = database('d.db', 4000);
    const run = async (memoryLimitBytes: number) => {
      const names: string[] = [];
      const result = await chunkSqliteDatabase({ source, copy: join(dir, `d-copy-${memoryLimitBytes}.db`), chunkBytes: 4096, nameKey: keys.chunkNameKey(), memoryLimitBytes }, async (batch) => {
        for (let at = 0; at < batch.length; at += 16) names.push(batch.toString('hex', at, at + 16));
      });
      return { result, names };
    };
    const memory = await run(1 << 30);
    const file = await run(0);
    assert.equal(memory.result.copiedBy, 'serialize');
    assert.equal(file.result.copiedBy, 'backup');
    assert.equal(existsSync(join(dir, `d-copy-${1 << 30}.db`)), false, 'nothing written');
    assert.ok(existsSync(join(dir, 'd-copy-0.db')));
    // Page 1 differs: the online backup rewrites header fields (change counter, version numbers).
    assert.deepEqual(memory.names.slice(1), file.names.slice(1));
    assert.equal(memory.result.size, file.result.size);
    assert.deepEqual(memory.result.counts, file.result.counts);
  });

  it('takes the online backup when the in-memory image has a zero page the file does not explain (a page SQLite could not read)', async () => {
    const file = join(dir, 'e.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    db.prepare('INSERT INTO notes (body) VALUES (?)').run('x'.repeat(40_000)); // overflow pages
    const page = db.prepare("SELECT pageno FROM dbstat WHERE pagetype = 'overflow' ORDER BY pageno LIMIT 1").pluck().get() as number;
    db.close();
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096), 0, 4096, (page - 1) * 4096);
    closeSync(fd);
    const result = await chunkSqliteDatabase({ source: file, copy: join(dir, 'e-copy.db'), chunkBytes: 4096, nameKey: keys.chunkNameKey(), memoryLimitBytes: 1 << 30 }, async () => undefined);
    assert.equal(result.copiedBy, 'backup');
    // A sound file with zeroed free pages (secure_delete) stays in memory.
    const sound = join(dir, 'f.db');
    const db2 = new Database(sound);
    db2.pragma('secure_delete = ON');
    db2.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    db2.prepare('INSERT INTO notes (body) VALUES (?)').run('y'.repeat(100_000));
    db2.exec('DELETE FROM notes');
    assert.ok((db2.pragma('freelist_count', { simple: true }) as number) > 10);
    db2.close();
    assert.equal((await chunkSqliteDatabase({ source: sound, copy: join(dir, 'f-copy.db'), chunkBytes: 4096, nameKey: keys.chunkNameKey(), memoryLimitBytes: 1 << 30 }, async () => undefined)).copiedBy, 'serialize');
  });
});
