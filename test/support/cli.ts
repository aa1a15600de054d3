import { spawnSync } from 'node:child_process';
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
