import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The CLI's entry point, run from TypeScript as the tests run. */
export const cliMain = join(import.meta.dirname, '../../src/main.ts');

/** Runs `tresor <args>` in a child process with a minimal environment. */
export const tresor = (args: string[], env: Record<string, string> = {}) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cliMain, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
