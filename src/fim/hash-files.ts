import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of many files, computed in a worker thread: the server's event loop goes on serving
 * requests while the worker reads and hashes (a check reads all of node_modules). Each file
 * streams through one fixed buffer, so memory does not grow with file sizes.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(workerData.bufferBytes);
const digests = workerData.paths.map((path) => {
  let fd;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const hash = createHash('sha256');
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
    return hash.digest('hex');
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
});
parentPort.postMessage(digests);
`;

/** Each file's SHA-256 (hex), in the order given; null for a file that vanished or cannot be read. */
export function hashFiles(paths: readonly string[], bufferBytes: number): Promise<Array<string | null>> {
  if (paths.length === 0) return Promise.resolve([]);
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { paths, bufferBytes } });
    let answered = false;
    worker.once('message', (digests: Array<string | null>) => {
      answered = true;
      resolvePromise(digests);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the hashing worker exited with code ${code} before answering`));
    });
  });
}
