import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/index.js';

/** The CLI's entry point, run from TypeScript as the tests run. */
export const cliMain = join(import.meta.dirname, '../../src/main.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tresor <args>` in a child process with a minimal environment: a second process beside
 * the test's server, with main.ts's umask and exit code. Each call starts Node and transpiles
 * the source (3–7 s on two busy cores), so tests use it where the process boundary is the point.
 */
export const tresor = (args: string[], env: Record<string, string> = {}): CliRun => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cliMain, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

/**
 * Runs `tresor <args>` in this process through `runCli`, the function main.ts calls, with the
 * same minimal environment: the same command code and output, without a Node start per call.
 */
export async function tresorHere(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const result = await runCli({ argv: args, env: { PATH: process.env['PATH'] ?? '', ...env }, stdout: (line) => out.push(`${line}\n`), stderr: (line) => err.push(`${line}\n`) });
  await result.close?.();
  return { code: result.exitCode, stdout: out.join(''), stderr: err.join('') };
}

/**
 * Runs `tresor <args>` like `tresor()`, recording every module the process loads
 * (record-modules.mjs): `packages` are the npm packages among them, `sources` our own files
 * (paths under src/).
 */
export function tresorLoading(args: string[], env: Record<string, string> = {}): CliRun & { packages: Set<string>; sources: Set<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-modules-'));
  const log = join(dir, 'modules.log');
  try {
    const recorder = join(import.meta.dirname, 'record-modules.mjs');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--import', recorder, cliMain, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env, TRESOR_TEST_MODULE_LOG: log } });
    const urls = readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
    const packages = new Set<string>();
    const sources = new Set<string>();
    for (const url of urls) {
      const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (inPackage !== null) packages.add(inPackage[1] as string);
      else if (url.includes('/src/')) sources.add(url.slice(url.lastIndexOf('/src/') + 1));
    }
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, packages, sources };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
