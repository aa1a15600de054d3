import { periodic } from '../platform/periodic.js';
import type { Leadership } from '../platform/leadership.js';
import type { Change } from './compare.js';
import { FimError } from './errors.js';
import type { BaselineMade, CheckResult, Fim } from './fim.js';

export interface FimScheduleOptions {
  readonly fim: Fim;
  /** Between checks (`fim.checkMinutes`). */
  readonly everyMs: number;
  /** The first check, after the server listens: never on the start path. */
  readonly firstAfterMs: number;
  /** Only the node leading the upkeep jobs checks (platform/leadership.ts). */
  readonly leadership?: Leadership;
  /** A check found changes: one entry per file. */
  readonly onChanges: (changes: Change[]) => Promise<void> | void;
  /** Every completed check (for the audit trail). */
  readonly onChecked?: (result: CheckResult) => Promise<void> | void;
  /** The deployment had no baseline yet and the first check made one. */
  readonly onBaselined: (made: BaselineMade) => Promise<void> | void;
  /** The baseline cannot be trusted: `fim-baseline-invalid`, or `fim-baseline-missing` after one existed. */
  readonly onRefused: (error: FimError) => Promise<void> | void;
  /** Anything else went wrong (a file system error); the next round tries again. */
  readonly onError: (error: unknown) => void;
}

/**
 * The server's periodic check. A deployment that never had a baseline gets one at its first
 * check (trust on first use, audited); a baseline that existed and is gone or does not verify is
 * reported, never silently replaced — deleting it must not be a way to hide a change.
 */
export function scheduleFimChecks(options: FimScheduleOptions): { stop(): Promise<void> } {
  const { fim } = options;
  const round = async () => {
    try {
      if (!(await fim.hasBaseline()) && !(await fim.everBaselined())) {
        await options.onBaselined(await fim.makeBaseline());
        return;
      }
      const result = await fim.check();
      await options.onChecked?.(result);
      if (result.changes.length > 0) await options.onChanges(result.changes);
    } catch (error) {
      if (error instanceof FimError) await options.onRefused(error);
      else options.onError(error);
    }
  };
  return periodic(async () => round().catch(options.onError), options.everyMs, options.firstAfterMs, options.leadership);
}
