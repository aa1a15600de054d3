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
    const result = await chunkSqliteDatabase({ source, copy, chunkBytes: 5000, nameKey: keys.chunkNameKey(), batchBytes: 64 * 1024, buffers: 2 }, async (batchNames, data, chunkBytes) => {
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
});
