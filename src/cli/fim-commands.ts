import type { Core } from '../app.js';
import { operatorEvent, type AuditOutcome } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { createFim, fimSettings, FimError } from '../fim/index.js';
import { operatorRealm } from '../identity/index.js';
import { systemClock } from '../platform/clock.js';
import { cliOperator } from './cli-actor.js';
import { number } from './human-size.js';
import type { CliIo, CliValues } from './io.js';
import { UsageError } from './usage-error.js';

/**
 * `tresor fim baseline | check`. Exit codes of check: 0 no change, 1 changes (one line each), 2
 * no baseline to trust (missing, or its signature does not verify). Both are audited in the
 * platform operators' trail with counts only.
 */
export async function fimCommand(io: CliIo, core: Core, config: Config, sub: string | undefined, values: CliValues, configFile: string | undefined): Promise<number> {
  const { targets, baselineFile } = fimSettings(config, configFile);
  const fim = createFim({ keys: core.keys, clock: systemClock, targets, baselineFile });
  const audited = (action: 'fim.baselined' | 'fim.checked', detail: string, outcome: AuditOutcome = 'success') => core.audit.record(operatorRealm, [operatorEvent(action, cliOperator(), { detail, outcome })]);
  if (sub === 'baseline') {
    const started = performance.now();
    const made = await fim.makeBaseline();
    await audited('fim.baselined', `${made.entries} files`);
    io.stdout(`baseline of ${number.format(made.entries)} files written to ${made.file} in ${((performance.now() - started) / 1000).toFixed(1)} s, signed`);
    return 0;
  }
  if (sub === 'check') {
    let result;
    try {
      result = await fim.check();
    } catch (error) {
      if (!(error instanceof FimError)) throw error;
      await audited('fim.checked', error.code, 'failure');
      io.stderr(`error: ${error.message}`);
      return 2;
    }
    await audited('fim.checked', `${result.changes.length} change(s) in ${result.files} files`);
    if (values['json'] === true) io.stdout(JSON.stringify({ baselineAt: result.baselineAt, files: result.files, changes: result.changes }, null, 2));
    else {
      for (const change of result.changes) io.stdout(`${change.change.padEnd(12)} ${change.path}`);
      io.stdout(
        result.changes.length === 0
          ? `no change in ${number.format(result.files)} files since the baseline of ${result.baselineAt}`
          : `${result.changes.length} change(s) since the baseline of ${result.baselineAt}: find out why before you run \`tresor fim baseline\` (docs/runbooks/fim.changed.md)`,
      );
    }
    return result.changes.length === 0 ? 0 : 1;
  }
  throw new UsageError(sub === undefined ? 'tresor fim takes baseline or check' : `no command fim ${sub}`);
}
