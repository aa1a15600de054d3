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

/**
 * Wall time, and the command's CPU time (user + system, all its threads) from the shell's
 * `times` builtin: on a machine shared with other work, wall time stretches with the load while
 * CPU time mostly does not, so the CPU column is the steadier comparison.
 */
function run(argv: readonly string[]): { wall: number; cpu: number } {
  const started = performance.now();
  const result = spawnSync('sh', ['-c', '"$@" >/dev/null || exit $?; times', 'sh', process.execPath, ...argv], { env, encoding: 'utf8' });
  const wall = performance.now() - started;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
  // The second line is the children's: "0m0.070s 0m0.010s".
  const children = result.stdout.trim().split('\n')[1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wall, cpu: seconds * 1000 };
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
const cpuSamples = new Map<number, number[]>(scenarios.map((_, i) => [i, []]));
for (let round = 0; round < runs; round++) {
  scenarios.forEach((scenario, i) => {
    const argv = scenario.name === 'tresor tenant create' ? [...scenario.argv, `bench-new-${created++}`] : scenario.argv;
    const { wall, cpu } = run(argv);
    samples.get(i)!.push(wall);
    cpuSamples.get(i)!.push(cpu);
  });
}
rmSync(dataDir, { recursive: true, force: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const nodeMedian = median(samples.get(0)!);
const nodeCpu = median(cpuSamples.get(0)!);
const rows = scenarios.map((scenario, i) => {
  const xs = samples.get(i)!;
  const cpu = median(cpuSamples.get(i)!);
  return `| ${scenario.name} | ${scenario.build ?? ''} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} | ${(median(xs) / nodeMedian).toFixed(2)} | ${cpu.toFixed(0)} | ${(cpu / nodeCpu).toFixed(2)} |`;
});
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const report = [
  `# CLI start-up, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${os.cpus().length} × ${cpu}, Node ${process.version}; ${runs} runs per command, round-robin; SQLite, ${tenantCount} tenants; load average at the end ${os.loadavg()[0]?.toFixed(1)}. Wall time from spawn to exit and CPU time (user + system), ms.`,
  '',
  '| command | build | wall median | min | max | ÷ node -e "" | CPU median | ÷ node -e "" |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows,
  '',
].join('\n');
console.log(report);
const out = join(root, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-cli-startup.md`), report);
