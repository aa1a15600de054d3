import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { fileStamp } from './file-stamps.js';

describe('file stamps of a SQLite data set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-stamps-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tenant.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (n INTEGER)');
  after(() => db.close());

  it('stays the same while nothing is written, and changes with every commit', () => {
    const first = fileStamp(file);
    assert.equal(fileStamp(file), first);
    db.prepare('INSERT INTO t (n) VALUES (1)').run();
    const second = fileStamp(file);
    assert.notEqual(second, first, 'a commit');
    db.prepare('INSERT INTO t (n) VALUES (2)').run();
    assert.notEqual(fileStamp(file), second, 'another commit of the same size');
  });

  it('changes when the log is checkpointed into the file, and when the file is swapped for another', () => {
    const before = fileStamp(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    assert.notEqual(fileStamp(file), before, 'a checkpoint');
    const settled = fileStamp(file);
    // A copy of the same size and contents, put in its place (a restore): another inode.
    db.prepare('VACUUM INTO ?').run(join(dir, 'copy.db'));
    renameSync(join(dir, 'copy.db'), file);
    rmSync(`${file}-wal`, { force: true });
    assert.notEqual(fileStamp(file), settled);
  });
});
