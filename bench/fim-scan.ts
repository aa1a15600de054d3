/**
 * `node --import tsx bench/fim-scan.ts [INSTALL_DIR]`: how long the file integrity scan of an
 * install takes (default: this checkout) — every file of its code, manifest, lockfile and
 * node_modules hashed, as `tresor fim baseline` and each check do. Three runs: the first may read
 * from disk, the others from the page cache. Prints files, bytes, seconds, MB/s, the memory
 * the process gained, and how long the event loop was held (what a request waits for at most,
 * since the server runs the same scan in its own process).
 */
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { scanTargets, watchedTargets } from '../src/fim/index.js';

const installDir = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
const targets = watchedTargets({ installDir, tls: { enabled: false }, dataDir: '/nonexistent', roots: [] });
console.log(`install ${installDir}: ${targets.map((t) => t.path.slice(installDir.length + 1)).join(', ')}`);
const rssBefore = process.memoryUsage().rss;
for (let run = 1; run <= 3; run++) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const entries = await scanTargets(targets);
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  console.log(`run ${run}: ${entries.length} files, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s (${(bytes / 1e6 / seconds).toFixed(0)} MB/s); rss +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB; event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
}
