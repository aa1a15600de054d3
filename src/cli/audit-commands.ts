import type { Core } from '../app.js';
import { operatorRealm } from '../identity/index.js';
import { verifyFailedEvent, type Actor } from '../audit/index.js';
import type { CliIo } from './io.js';
import { meaningfulRateCount } from './keys-commands.js';
import { UsageError } from './usage-error.js';
import { number } from './human-size.js';

/** The operators' realm has an audit trail like a tenant's, but it is the platform's own, not a tenant. */
const trailOf = (id: string) => (id === operatorRealm ? 'platform operators' : `tenant ${id}`);

/** Every audit trail (each tenant's and the platform operators'), or the one named. */
async function tenantsOf(core: Core, tenantId: string | undefined): Promise<string[]> {
  if (tenantId !== undefined && tenantId !== operatorRealm && (await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
  return tenantId === undefined ? core.auditRealms() : [tenantId];
}

/**
 * `tresor audit verify`: every tenant's chain (or one), each finding on a line; exit 1 on any.
 * Findings are also recorded on the verified trail (`audit.verify_failed`) for detection; a trail
 * that cannot take the event still has its findings printed.
 */
export async function verifyAudit(io: CliIo, core: Core, tenantId: string | undefined, actor: Actor): Promise<number> {
  const ids = await tenantsOf(core, tenantId);
  let findings = 0;
  for (const id of ids) {
    const started = performance.now();
    const report = await core.audit.verify(id);
    const seconds = (performance.now() - started) / 1000;
    for (const finding of report.findings) io.stdout(`${trailOf(id)}: event ${finding.seq}: ${finding.kind}: ${finding.detail}`);
    findings += report.findings.length;
    if (report.findings.length > 0) await core.audit.record(id, [verifyFailedEvent(report.findings, actor)]).catch(() => undefined);
    io.stdout(
      report.findings.length === 0
        ? `${trailOf(id)}: ${number.format(report.events)} events, chain intact ${report.cut > 0 ? `from the signed retention cut after event ${report.cut} ` : ''}through event ${report.lastSeq}, consistent with ${report.checkpoints} signed checkpoint(s)${report.events >= meaningfulRateCount ? ` (${number.format(Math.round(report.events / Math.max(seconds, 0.001)))} events/s)` : ''}`
        : `${trailOf(id)}: ${number.format(report.events)} events, ${report.findings.length} finding(s): the audit trail was tampered with`,
    );
  }
  return findings > 0 ? 1 : 0;
}

/** `tresor audit prune`: what the server's daily retention job does, now; exit 1 if a chain had findings. */
export async function pruneAudit(io: CliIo, core: Core, tenantId: string | undefined, actor: Actor): Promise<number> {
  let refused = 0;
  for (const id of await tenantsOf(core, tenantId)) {
    const result = await core.audit.prune(id, actor);
    if (result.refused !== undefined) {
      refused += 1;
      io.stdout(`${trailOf(id)}: not pruned: the chain has ${result.refused.length} finding(s); run tresor audit verify --tenant ${id}`);
    } else if (result.deleted === 0) {
      io.stdout(`${trailOf(id)}: nothing older than the retention period${result.cut > 0 ? ` (the chain starts after event ${result.cut})` : ''}`);
    } else {
      io.stdout(`${trailOf(id)}: deleted ${number.format(result.deleted)} events through event ${result.cut}, behind a signed cut point`);
    }
  }
  return refused > 0 ? 1 : 0;
}
