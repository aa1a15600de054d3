// `npm run bench`: both engines. PostgreSQL comes from TRESOR_TEST_PG_URL, or else a scratch
// cluster from the Debian packages (as for `npm test`); without either, SQLite only.
//
// `npm run bench -- backup` (or BENCH_ONLY=backup npm run bench): the backup benchmark alone
// (bench/backup.ts: a 1 GiB tenant, BENCH_BACKUP_MIB to change it). It is not part of the default
// run: at 1 GiB it takes far longer than the HTTP benchmark (tens of minutes on 2 cores).
// `npm run bench -- all` (BENCH_ONLY=all) runs the HTTP benchmark, then the backup benchmark.
// `npm run bench -- ha` (BENCH_ONLY=ha): the high-availability cluster (bench/ha.ts: two Tresor
// nodes against one, replication lag, RTO over 10 failover drills; needs patroni, etcd-server,
// haproxy and pgbackrest from Debian); also part of `all`.
// `npm run bench -- search` (BENCH_ONLY=search): search page time for patients with 100, 10,000
// and 100,000 matches (bench/search-pages.ts); also part of `all`.
// `npm run bench -- cli` (BENCH_ONLY=cli): command start-up (bench/cli-startup.ts: `tresor version`,
// `help`, `tenant list`, `tenant create` against `node -e ""` in the same run); also part of `all`.
// `npm run bench -- tenants` (BENCH_ONLY=tenants): many tenants on one node (bench/tenants.ts:
// 10,000 SQLite tenants, BENCH_TENANTS to change it; PostgreSQL schemas, BENCH_PG_TENANTS). Not
// part of `all`: creating the tenants takes minutes.
// `npm run bench -- processes` (BENCH_ONLY=processes): one server process against two over the same
// SQLite data directory (bench/processes.ts); also part of `all`.
// `npm run bench -- detection` (BENCH_ONLY=detection): requests with detection on against off, the
// lag from an event to its alert under load, and rule throughput on one core (bench/detection.ts);
// also part of `all`.
// `npm run bench -- breach` (BENCH_ONLY=breach): a breach scope over one API key and 30 days on a
// tenant with 10 million audit events, SQLite then PostgreSQL (bench/breach-scope.ts; BENCH_EVENTS,
// BENCH_PG_EVENTS to change it).
// Not part of `all`: writing the events takes minutes.
// `npm run bench -- everything` (BENCH_ONLY=everything): Patient/$everything for a patient with
// 10,000 Observations against the same records read one by one (bench/everything.ts); also part of `all`.
import { spawn } from 'node:child_process';
import { providePostgres } from './pg-scratch.mjs';

const selectors = new Set(['backup', 'http', 'ha', 'search', 'everything', 'cli', 'tenants', 'processes', 'detection', 'breach', 'all']);
const named = process.argv.slice(2).find((arg) => selectors.has(arg));
const only = named ?? process.env.BENCH_ONLY ?? 'http';
if (!selectors.has(only)) {
  console.error(`BENCH_ONLY must be one of ${[...selectors].join(', ')}, not ${JSON.stringify(only)}`);
  process.exit(2);
}
const passThrough = process.argv.slice(2).filter((arg) => !selectors.has(arg));

let child;
let stopped = false;
const stop = () => {
  stopped = true;
  child?.kill('SIGINT');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

function run(script, env) {
  child = spawn(process.execPath, ['--import', 'tsx', script, ...passThrough], { stdio: 'inherit', env });
  return new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
}

let code = 0;
if (only === 'http' || only === 'all') {
  const env = { ...process.env };
  const postgres = await providePostgres(env);
  if (postgres.scratch) env.TRESOR_BENCH_PG_SCRATCH = '1';
  code = await run('bench/run.ts', env);
  postgres.stop();
  if (only === 'http' && code === 0) console.log('\n(The backup benchmark is separate: npm run bench -- backup)');
}
if ((only === 'backup' || only === 'all') && !stopped) {
  const backupCode = await run('bench/backup.ts', { ...process.env, TRESOR_BENCH_SELECTED: only });
  code = code === 0 ? backupCode : code;
}
if ((only === 'search' || only === 'all') && !stopped) {
  const env = { ...process.env };
  const postgres = await providePostgres(env);
  const searchCode = await run('bench/search-pages.ts', env);
  postgres.stop();
  code = code === 0 ? searchCode : code;
}
if ((only === 'everything' || only === 'all') && !stopped) {
  const env = { ...process.env };
  const postgres = await providePostgres(env);
  const everythingCode = await run('bench/everything.ts', env);
  postgres.stop();
  code = code === 0 ? everythingCode : code;
}
if (only === 'tenants' && !stopped) {
  const env = { ...process.env };
  const postgres = await providePostgres(env);
  code = await run('bench/tenants.ts', env);
  postgres.stop();
}
if ((only === 'ha' || only === 'all') && !stopped) {
  const haCode = await run('bench/ha.ts', { ...process.env });
  code = code === 0 ? haCode : code;
}
if ((only === 'cli' || only === 'all') && !stopped) {
  const cliCode = await run('bench/cli-startup.ts', { ...process.env });
  code = code === 0 ? cliCode : code;
}
if ((only === 'processes' || only === 'all') && !stopped) {
  const processesCode = await run('bench/processes.ts', { ...process.env });
  code = code === 0 ? processesCode : code;
}
if ((only === 'detection' || only === 'all') && !stopped) {
  const detectionCode = await run('bench/detection.ts', { ...process.env });
  code = code === 0 ? detectionCode : code;
}
if (only === 'breach' && !stopped) {
  const env = { ...process.env };
  const postgres = await providePostgres(env);
  const breachCode = await run('bench/breach-scope.ts', env);
  postgres.stop();
  code = code === 0 ? breachCode : code;
}
process.exit(code);
