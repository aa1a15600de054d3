import { operatorEvent, type Audit, type AuditOutcome } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import { describeErrorForLog } from '../platform/errors.js';
import type { Leadership } from '../platform/leadership.js';
import type { Change } from './compare.js';
import { createFim } from './fim.js';
import { scheduleFimChecks } from './schedule.js';
import { fimSettings } from './settings.js';

/** The few log calls the job makes (pino's shape). */
export interface FimLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export interface ServerFimChecksDeps {
  readonly config: Config;
  /** The configuration file the server read, watched with the rest. */
  readonly configFile: string | undefined;
  readonly keys: Pick<Keys, 'signer' | 'signingPublicKey'>;
  readonly audit: Pick<Audit, 'record'>;
  readonly clock: Clock;
  readonly log: FimLog;
  /** Whether this process checks: the jobs process on SQLite; every node on PostgreSQL (files are per host). */
  readonly leadership: Leadership;
  /** Tests check in milliseconds; default: a minute after the start, then every `fim.checkMinutes`. */
  readonly timing?: { readonly firstAfterMs: number; readonly everyMs: number };
  /** What a check found, for the alerts (the composition root raises them). */
  readonly onChanges: (report: FimReport) => Promise<void>;
}

/** A check's findings: changed files, one entry each, or a baseline that could not be trusted. */
export interface FimReport {
  readonly changes: readonly Change[];
  /** The watched paths (to group many changes). */
  readonly roots: readonly string[];
  /** The baseline went missing after one existed, or does not verify: nothing could be checked. */
  readonly baseline?: { readonly path: string; readonly problem: 'missing' | 'invalid' };
}

const system = { id: 'system:fim', role: 'system', client: 'tresor' } as const;

/**
 * The server's file integrity job: where `leadership` says (app.ts), off the start path,
 * every check audited in the platform operators' trail (counts only, NIST SP 800-92 §4.1: the
 * monitoring leaves its own record), each change logged by path.
 */
export function startServerFimChecks(deps: ServerFimChecksDeps): { stop(): Promise<void> } {
  const { config, audit, log } = deps;
  const { targets, baselineFile } = fimSettings(config, deps.configFile);
  const fim = createFim({ keys: deps.keys, clock: deps.clock, targets, baselineFile });
  const audited = (action: 'fim.baselined' | 'fim.checked', detail: string, outcome: AuditOutcome = 'success') => audit.record(operatorRealm, [operatorEvent(action, system, { detail, outcome })]);
  return scheduleFimChecks({
    fim,
    leadership: deps.leadership,
    firstAfterMs: deps.timing?.firstAfterMs ?? 60_000,
    everyMs: deps.timing?.everyMs ?? config.fim.checkMinutes * 60_000,
    async onBaselined(made) {
      await audited('fim.baselined', `${made.entries} files (first start)`);
      log.info({ event: 'fim.baselined', files: made.entries, file: made.file }, 'file integrity: no baseline yet, made one of the files as they are now');
    },
    async onChecked(result) {
      await audited('fim.checked', `${result.changes.length} change(s) in ${result.files} files`);
    },
    async onChanges(changes) {
      for (const change of changes) log.warn({ event: 'fim.changed', path: change.path, change: change.change }, 'file integrity: a watched file changed since the baseline');
      await deps.onChanges({ changes, roots: targets.map((t) => t.path) });
    },
    async onRefused(error) {
      await audited('fim.checked', error.code, 'failure');
      log.error({ event: 'fim.changed', code: error.code, file: baselineFile }, 'file integrity: the baseline cannot be trusted; no check was made');
      await deps.onChanges({ changes: [], roots: targets.map((t) => t.path), baseline: { path: baselineFile, problem: error.code === 'fim-baseline-missing' ? 'missing' : 'invalid' } });
    },
    onError(error) {
      log.error({ event: 'fim.failed', err: describeErrorForLog(error) }, 'file integrity check failed; the next round tries again');
    },
  });
}
