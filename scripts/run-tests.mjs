// `npm test`: every unit test beside the code (src/**/*.test.ts) and every flow
// (test/**/*.test.ts), on SQLite and — when a PostgreSQL server can be had — on PostgreSQL too.
// TRESOR_TEST_PG_URL points at an existing server; otherwise a scratch cluster is started from
// the Debian packages if they are installed. TRESOR_REQUIRE_PG=1 (set by .ci/run) turns a
// missing PostgreSQL into a failure instead of a skipped engine.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { providePostgres } from './pg-scratch.mjs';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const filter = process.argv.slice(2);
let files = [...findTests('src'), ...findTests('test')].sort();
if (filter.length > 0) files = files.filter((file) => filter.some((f) => file.includes(f)));

const env = { ...process.env };
const postgres = await providePostgres(env);
if (!env.TRESOR_TEST_PG_URL) {
  if (env.TRESOR_REQUIRE_PG === '1') {
    console.error('TRESOR_REQUIRE_PG=1 but no PostgreSQL is available (install postgresql or set TRESOR_TEST_PG_URL)');
    process.exit(1);
  }
  console.error('PostgreSQL not available: engine tests run on SQLite only');
}

// --test-timeout bounds every test and also each file as a whole (node:test runs a file as one
// test in its own process). The high-availability flow starts a cluster of nine processes and
// takes ~150 s on two cores and the backup CLI flow ~180 s; a loaded machine doubles that. 450 s
// leaves them room while a hang still fails the run in minutes.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=450000', ...files], { stdio: 'inherit', env });
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
postgres.stop();
process.exit(code);
