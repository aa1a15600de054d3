/**
 * `npm run bench -- cli`: how long a `tresor` command takes from process start to exit, next to
 * `node -e ""` (Node's own start) measured in the same run, round-robin, so machine drift hits
 * every command alike. The built CLI (dist/main.js, as users run it) on a SQLite data directory
 * with a few tenants.
 *
 *   BENCH_CLI_RUNS=20     runs per command
 *   BENCH_CLI_TENANTS=5   tenants in the data directory
 *   BENCH_CLI_BASE=DIR    a second build (DIR/dist/main.js, e.g. an older commit's) measured in
 *                         the same rounds: the A/B ratio for a change
 *
 * Builds dist/ first (a stale build would measure old code). Results go to stdout and to
 * bench/results/<date>-cli-startup.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const defaults = { runs: 20, tenants: 5 };
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env['BENCH_CLI_RUNS'] ?? defaults.runs);
const tenantCount = Number(process.env['BENCH_CLI_TENANTS'] ?? defaults.tenants);
const base = process.env['BENCH_CLI_BASE'];

interface Scenario {
  readonly name: string;
  readonly argv: readonly string[];
}

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-cli-'));
// A development master key in the environment, as a script creating tenants would have it.
const env = { PATH: process.env['PATH'] ?? '', TRESOR_DATA_DIR: dataDir };

const builds: Array<{ label: string; main: string }> = [{ label: 'this build', main: join(root, 'dist/main.js') }, ...(base === undefined ? [] : [{ label: `base (${base})`, main: join(base, 'dist/main.js') }])];

function run(argv: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, argv, { env, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
  return elapsed;
}

for (let i = 0; i < tenantCount; i++) run([builds[0]!.main, 'tenant', 'create', `bench-${i}`]);

let created = 0;
const scenarios: Array<Scenario & { build?: string }> = [{ name: 'node -e ""', argv: ['-e', ''] }];
for (const build of builds) {
  for (const [name, args] of [
    ['tresor version', ['version']],
    ['tresor help', ['help']],
    [`tresor tenant list (${tenantCount} tenants)`, ['tenant', 'list']],
    ['tresor tenant create', ['tenant', 'create']],
  ] as const) {
    scenarios.push({ name, build: build.label, argv: [build.main, ...args] });
  }
}

const samples = new Map<number, number[]>(scenarios.map((_, i) => [i, []]));
for (let round = 0; round < runs; round++) {
  scenarios.forEach((scenario, i) => {
    const argv = scenario.name === 'tresor tenant create' ? [...scenario.argv, `bench-new-${created++}`] : scenario.argv;
    samples.get(i)!.push(run(argv));
  });
}
rmSync(dataDir, { recursive: true, force: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const nodeMedian = median(samples.get(0)!);
const rows = scenarios.map((scenario, i) => {
  const xs = samples.get(i)!;
  return `| ${scenario.name} | ${scenario.build ?? ''} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} | ${(median(xs) / nodeMedian).toFixed(2)} |`;
});
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const report = [
  `# CLI start-up, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${os.cpus().length} × ${cpu}, Node ${process.version}; ${runs} runs per command, round-robin; SQLite, ${tenantCount} tenants. Wall time from spawn to exit, ms.`,
  '',
  '| command | build | median | min | max | ÷ node -e "" (median) |',
  '|---|---|---:|---:|---:|---:|',
  ...rows,
  '',
].join('\n');
console.log(report);
const out = join(root, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-cli-startup.md`), report);
