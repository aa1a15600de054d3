import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * promtool from Debian's `prometheus` package, for checking and unit-testing the Prometheus
 * alerting rules. Without it those tests are skipped, unless TRESOR_REQUIRE_PROMTOOL=1 (set by
 * .ci/run, which installs the package) makes that a failure.
 */
export const promtoolPath = '/usr/bin/promtool';
const havePromtool = existsSync(promtoolPath);
const requirePromtool = process.env['TRESOR_REQUIRE_PROMTOOL'] === '1';
export const skipWithoutPromtool: false | string =
  havePromtool || requirePromtool ? false : `${promtoolPath} is missing (apt-get install prometheus); TRESOR_REQUIRE_PROMTOOL=1 makes this a failure`;

export interface PromtoolResult {
  readonly code: number;
  /** stdout and stderr together, for a failing test's message. */
  readonly output: string;
}

/** Runs `promtool <args>` in `cwd`, bounded; a non-zero exit is a result, not an exception. */
export async function runPromtool(args: readonly string[], cwd: string): Promise<PromtoolResult> {
  if (!havePromtool) throw new Error(`TRESOR_REQUIRE_PROMTOOL=1 but ${promtoolPath} is missing: install Debian's prometheus package`);
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolPath, [...args], { cwd, timeout: 120_000, maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}
