// `npm run bench`: both engines. PostgreSQL comes from TRESOR_TEST_PG_URL, or else a scratch
// cluster from the Debian packages (as for `npm test`); without either, SQLite only.
import { spawn } from 'node:child_process';
import { providePostgres } from './pg-scratch.mjs';

const env = { ...process.env };
const postgres = await providePostgres(env);
if (postgres.scratch) env.TRESOR_BENCH_PG_SCRATCH = '1';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...process.argv.slice(2)], { stdio: 'inherit', env });
const stop = () => child.kill('SIGINT');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
postgres.stop();
process.exit(code);
