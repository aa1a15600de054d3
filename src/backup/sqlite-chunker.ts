import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A consistent, page-for-page copy of a live SQLite database file, made in a worker thread so
 * the server's event loop never waits on it: the worker opens its own read-only connection and
 * runs SQLite's online backup in one step, i.e. inside one read transaction — in WAL mode that
 * is a snapshot of the last commit while writers go on (sqlite.org/backup.html, wal.html §2.2).
 * Page-for-page matters: unchanged pages give unchanged chunks, which deduplication skips.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
let db;
try {
  db = new Database(workerData.source, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
} catch (error) {
  parentPort.postMessage({ ok: false, message: String(error && error.message) });
  return;
}
db.backup(workerData.target, { progress: () => 0x7fffffff }).then(
  (progress) => {
    db.close();
    // Rows per table of the copy, counted here too, off the server's event loop.
    const copy = new Database(workerData.target, { readonly: true, fileMustExist: true });
    try {
      const tables = copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
      const counts = {};
      for (const t of tables) counts[t] = Number(copy.prepare('SELECT COUNT(*) FROM "' + t.replace(/"/g, '""') + '"').pluck().get());
      parentPort.postMessage({ ok: true, pages: progress.totalPages, counts });
    } catch (error) {
      parentPort.postMessage({ ok: false, message: String(error && error.message) });
    } finally {
      copy.close();
    }
  },
  (error) => { db.close(); parentPort.postMessage({ ok: false, message: String(error && error.message) }); },
);
`;

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');

/** Copies `source` to `target`; returns the copy's page count and rows per table (counted in the worker). */
export function copySqliteDatabase(source: string, target: string): Promise<{ pages: number; counts: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`(function(){${workerSource}})()`, { eval: true, workerData: { module: betterSqlite, source, target } });
    worker.once('message', (message: { ok: boolean; pages?: number; counts?: Record<string, number>; message?: string }) => {
      void worker.terminate();
      if (message.ok) resolve({ pages: message.pages ?? 0, counts: message.counts ?? {} });
      else reject(new Error(`copying ${source}: ${message.message ?? 'failed'}`));
    });
    worker.once('error', reject);
  });
}
