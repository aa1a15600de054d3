import type { Core } from '../app.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

const number = new Intl.NumberFormat('en-US');

/** `tresor audit verify`: every tenant's chain (or one), each finding on a line; exit 1 on any. */
export async function verifyAudit(io: CliIo, core: Core, tenantId: string | undefined): Promise<number> {
  const ids = tenantId === undefined ? (await core.tenants.list()).map((t) => t.id) : [tenantId];
  if (tenantId !== undefined && (await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
  let findings = 0;
  for (const id of ids) {
    const started = performance.now();
    const report = await core.audit.verify(id);
    const seconds = (performance.now() - started) / 1000;
    for (const finding of report.findings) io.stdout(`tenant ${id}: event ${finding.seq}: ${finding.kind}: ${finding.detail}`);
    findings += report.findings.length;
    io.stdout(
      report.findings.length === 0
        ? `tenant ${id}: ${number.format(report.events)} events, chain intact through event ${report.lastSeq}, consistent with ${report.checkpoints} signed checkpoint(s) (${number.format(Math.round(report.events / Math.max(seconds, 0.001)))} events/s)`
        : `tenant ${id}: ${number.format(report.events)} events, ${report.findings.length} finding(s): the audit trail was tampered with`,
    );
  }
  return findings > 0 ? 1 : 0;
}
