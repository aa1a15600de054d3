import type { Core } from '../app.js';
import { operatorEvent } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import { openSealedSamples } from '../records/index.js';
import { moveTenant, MoveRefused, type RegionalStorage } from '../regions/index.js';
import { systemClock } from '../platform/clock.js';
import { runningServer } from './backup-commands.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { Refusal, UsageError } from './usage-error.js';

/**
 * `tresor tenant move --tenant T --to R --reason TEXT`: moves a tenant's data set and keys to
 * another region (regions/move-tenant.ts), with the server stopped, and records it in the
 * tenant's trail (in its new region) and in the operators' trail.
 */
export async function tenantMove(io: CliIo, core: Core, config: Config, values: CliValues): Promise<void> {
  const tenantId = typeof values['tenant'] === 'string' ? values['tenant'] : undefined;
  const to = typeof values['to'] === 'string' ? values['to'] : undefined;
  const reason = typeof values['reason'] === 'string' ? values['reason'].trim() : '';
  if (tenantId === undefined || to === undefined || reason === '') throw new UsageError('tresor tenant move --tenant <id> --to <region> --reason <text>');
  if (reason.length > 200 || /[\p{Cc}]/u.test(reason)) throw new UsageError('--reason is at most 200 printable characters');
  const tenant = await core.tenants.get(tenantId);
  if (tenant === undefined) throw new UsageError(`no tenant ${tenantId}`);
  const pid = config.storage.engine === 'sqlite' ? runningServer(config.dataDir) : undefined;
  if (pid !== undefined) throw new Refusal(`a server (pid ${pid}) runs on ${config.dataDir}; stop it, then move the tenant (its data set must not change while it is copied)`);
  if (!('region' in core.storage)) throw new Refusal('no regions are configured (config.regions)');
  let report;
  try {
    report = await moveTenant(
      {
        storage: core.storage as RegionalStorage,
        residency: core.residency,
        clock: systemClock,
        verify: async (db, id, keys) => (await openSealedSamples(db, id, keys)).failures,
      },
      tenantId,
      to,
    );
  } catch (error) {
    if (error instanceof MoveRefused) throw new Refusal(`${error.message}; nothing was moved`);
    throw error;
  } finally {
    core.keys.forgetTenant(tenantId);
  }
  const event = operatorEvent('tenant.region_moved', cliOperator(), { resources: [`Tenant/${tenantId}`], detail: `from ${report.from} to ${report.to}: ${reason}` });
  await core.audit.record(tenantId, [event]);
  await core.audit.record(operatorRealm, [event]);
  io.stdout(`moved tenant ${tenantId} from region ${report.from} to ${report.to}: ${report.keysCopied} keys re-wrapped under ${report.to}'s master key; the copy in ${report.from} and its ${report.keysDestroyed} keys destroyed`);
  io.stdout(`data set: ${core.storage.describeTenant(tenantId)}`);
}
