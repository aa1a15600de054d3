import { backupAfterMove, moveDepsOf, type Core } from '../app.js';
import { operatorEvent } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { moveReasonOf, operatorRealm } from '../identity/index.js';
import { moveTenant, MoveRefused, thawTenant, type RegionalStorage } from '../regions/index.js';
import { runningServer } from './backup-commands.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { Refusal, UsageError } from './usage-error.js';

/**
 * `tresor tenant move --tenant T --to R --reason TEXT`: moves a tenant's data set and keys to
 * another region (regions/move-tenant.ts) and records it in the tenant's trail (in its new
 * region) and in the operators' trail; a refusal or failure in the operators' trail. SQLite:
 * with the server stopped (a running server moves a tenant itself: the operator API or console).
 * PostgreSQL: while servers run — the tenant is marked as moving, and they answer its requests
 * 503 until it is done.
 */
export async function tenantMove(io: CliIo, core: Core, config: Config, values: CliValues): Promise<void> {
  const tenantId = typeof values['tenant'] === 'string' ? values['tenant'] : undefined;
  const to = typeof values['to'] === 'string' ? values['to'] : undefined;
  const rawReason = typeof values['reason'] === 'string' ? values['reason'] : '';
  if (values['clear-mark'] === true) return clearMark(io, core, tenantId, rawReason);
  if (tenantId === undefined || to === undefined || rawReason.trim() === '') throw new UsageError('tresor tenant move --tenant <id> --to <region> --reason <text>');
  const reason = moveReasonOf(rawReason);
  if (reason === undefined) throw new UsageError('--reason is at most 200 printable characters');
  const tenant = await core.tenants.get(tenantId);
  if (tenant === undefined) throw new UsageError(`no tenant ${tenantId}`);
  const pid = config.storage.engine === 'sqlite' ? runningServer(config.dataDir) : undefined;
  if (pid !== undefined) {
    throw new Refusal(
      `a server (pid ${pid}) runs on ${config.dataDir}: move the tenant through it, online — POST /platform/tenants/${tenantId}/move {"to": "${to}", "reason": "…"} or the operator console's Tenants page (Move…) — or stop it first`,
    );
  }
  if (!('region' in core.storage)) throw new Refusal('no regions are configured (config.regions)');
  const failed = async (detail: string) => {
    await core.audit.record(operatorRealm, [operatorEvent('tenant.region_moved', cliOperator(), { resources: [`Tenant/${tenantId}`], detail: `to ${to}: ${detail}`, outcome: 'failure' })]).catch(() => undefined);
  };
  let report;
  try {
    report = await moveTenant(moveDepsOf(core, { backupAfter: backupAfterMove(core) }), tenantId, to);
  } catch (error) {
    if (error instanceof MoveRefused) {
      await failed(error.message);
      throw new Refusal(`${error.message}; nothing was moved`);
    }
    await failed('the move failed');
    throw error;
  } finally {
    core.keys.forgetTenant(tenantId);
  }
  const event = operatorEvent('tenant.region_moved', cliOperator(), { resources: [`Tenant/${tenantId}`], detail: `from ${report.from} to ${report.to}: ${reason}` });
  await core.audit.record(tenantId, [event]);
  await core.audit.record(operatorRealm, [event]);
  io.stdout(`moved tenant ${tenantId} from region ${report.from} to ${report.to}: ${report.keysCopied} keys re-wrapped under ${report.to}'s master key; the copy in ${report.from} and its ${report.keysDestroyed} keys destroyed`);
  io.stdout(`data set: ${core.storage.describeTenant(tenantId)}`);
  if (report.leftovers !== undefined) io.stderr(`moved, but left in region ${report.from} (remove it): ${report.leftovers.join('; ')}`);
  io.stdout(`requests for the tenant were answered 503 for ${(report.unavailableMs / 1000).toFixed(1)} s`);
  const backup = report.backup;
  if ('snapshot' in backup) io.stdout(`backup of region ${report.to} afterwards: snapshot ${backup.snapshot}`);
  else if ('skipped' in backup) io.stdout(`no backup afterwards: ${backup.skipped}`);
  else io.stderr(`the backup afterwards failed (the move stands): ${backup.failed}`);
}

/**
 * `--clear-mark`: a move whose process died (a crash, a killed command) leaves the tenant marked as
 * moving, and every server answers it 503. Whatever step it died at, the registry's row names the
 * region that holds the tenant (the switch is the last thing the source needs): clearing the mark
 * (and, on PostgreSQL, the source's refusal of writes, should the move have got that far) serves
 * it from there. A copy left in the other region blocks the next move until removed.
 */
async function clearMark(io: CliIo, core: Core, tenantId: string | undefined, rawReason: string): Promise<void> {
  const reason = moveReasonOf(rawReason);
  if (tenantId === undefined || reason === undefined) throw new UsageError('tresor tenant move --tenant <id> --clear-mark --reason <text>');
  const tenant = await core.tenants.get(tenantId);
  if (tenant === undefined) throw new UsageError(`no tenant ${tenantId}`);
  if (tenant.movingSince === undefined) throw new Refusal(`tenant ${tenantId} is not marked as moving`);
  // A PostgreSQL move that died after freezing the source but before the switch left it refusing writes.
  if ('region' in core.storage) await thawTenant(core.storage as RegionalStorage, tenant.region, tenantId);
  await core.tenants.clearMoving(tenantId);
  await core.audit.record(operatorRealm, [
    operatorEvent('tenant.region_moved', cliOperator(), { resources: [`Tenant/${tenantId}`], detail: `the mark of an interrupted move (since ${tenant.movingSince}) cleared; stays in ${tenant.region}: ${reason}`, outcome: 'failure' }),
  ]);
  io.stdout(`tenant ${tenantId} is served again from region ${tenant.region} (it was marked as moving since ${tenant.movingSince})`);
}
