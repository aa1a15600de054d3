import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCore, type Core } from '../app.js';
import { operatorEvent } from '../audit/index.js';
import { backupKeySource, findPostgresBin, runRestoreDrill, type PhysicalBackups, type RestoreDrillReport } from '../backup/index.js';
import type { Config } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import { findUnreadableKeys } from '../keys/index.js';
import { openSealedSamples } from '../records/index.js';
import type { CliIo, CliValues } from './io.js';
import { UsageError } from './usage-error.js';
import { cliActor, reportingBackupErrors } from './backup-commands.js';
import { humanBytes } from './human-size.js';


function physicalOf(core: Core): PhysicalBackups {
  if (core.physical === undefined) throw new UsageError('physical backups are not configured: set backup.physical.configFile (TRESOR_PGBACKREST_CONFIG) to the repository side\'s pgbackrest.conf (PostgreSQL only)');
  return core.physical;
}

/**
 * The restore drill with Tresor's own checks on the restored data: every audit chain verified by a
 * Tresor core opened on the scratch instance (same keys, a throw-away data directory).
 */
export async function restoreDrill(core: Core, config: Config, options: { targetTime?: string; log?: (line: string) => void }): Promise<RestoreDrillReport> {
  const physical = physicalOf(core);
  // The scratch instance runs as the repository's owner, who may not enter Tresor's data
  // directory (0700): by default a fresh directory under the system's temporary directory.
  const scratchDir = join(config.backup.physical.scratchDir ?? tmpdir(), `tresor-restore-drill-${randomBytes(6).toString('hex')}`);
  const report = await runRestoreDrill({
    physical,
    databaseUrl: config.storage.postgres.url!,
    schemaPrefix: config.storage.postgres.schemaPrefix,
    scratchDir,
    postgresBin: findPostgresBin(),
    ...(options.targetTime === undefined ? {} : { targetTime: options.targetTime }),
    ...(options.log === undefined ? {} : { log: options.log }),
    // The repository's tombstone list (outside the restored database) against the restored key
    // store, through the same step a server runs at start; a second pass finds what is left.
    async reapplyErasures(url) {
      const dataDir = mkdtempSync(join(config.dataDir, 'restore-drill-erasures-'));
      // The backup and master keys stay where this deployment keeps them, not in the scratch directory.
      const backupKey = backupKeySource(config.backup, config.dataDir);
      const keys = config.keys.masterKey !== undefined ? config.keys : { ...config.keys, masterKeyFile: config.keys.masterKeyFile ?? join(config.dataDir, 'master-key.json') };
      const restored = await buildCore({
        ...config,
        dataDir,
        keys,
        storage: { ...config.storage, postgres: { ...config.storage.postgres, url, poolSize: 2 } },
        backup: { ...config.backup, ...('file' in backupKey ? { keyFile: backupKey.file } : {}), physical: { ...config.backup.physical, configFile: undefined } },
      });
      try {
        const done = await restored.backups.reapplyErasures();
        const left = await restored.backups.reapplyErasures();
        return { tombstones: done.tombstones, resurrected: done.resurrected.length, keysDestroyed: done.keysDestroyed, left: left.resurrected.length };
      } finally {
        await restored.audit.close();
        await restored.storage.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    async verifyRestored(url) {
      const dataDir = mkdtempSync(join(config.dataDir, 'restore-drill-tresor-'));
      // This deployment's master key: the restored cluster must be readable with the keys on hand now.
      const restored = await buildCore(
        { ...config, dataDir, storage: { ...config.storage, postgres: { ...config.storage.postgres, url, poolSize: 2 } }, backup: { ...config.backup, repository: undefined, physical: { ...config.backup.physical, configFile: undefined } } },
        { keyProvider: core.keyProvider },
      );
      try {
        const findings: string[] = [];
        let events = 0;
        // Every key of the restored key store opens, and every tenant's sealed fields (one per key generation).
        for (const problem of await findUnreadableKeys(restored.storage.keys, core.keyProvider)) findings.push(`keys-unreadable: ${problem}`);
        const realms = await restored.auditRealms();
        for (const realm of realms) {
          if (realm !== operatorRealm) {
            const sampled = await openSealedSamples(await restored.storage.tenant(realm), realm, restored.keys);
            for (const failure of sampled.failures) findings.push(`${realm}: keys-unreadable: ${failure}`);
          }
          const result = await restored.audit.verify(realm);
          events += result.events;
          for (const f of result.findings) findings.push(`${realm}: event ${f.seq}: ${f.kind}`);
        }
        return { tenants: realms.length - 1, events, findings };
      } finally {
        await restored.audit.close();
        await restored.storage.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  });
  await core.audit
    .record(operatorRealm, [operatorEvent(report.ok ? 'backup.verified' : 'backup.failed', cliActor(), { detail: `physical restore drill ${report.restoredSet ?? '-'} to ${report.target.type} ${report.target.value}: ${report.ok ? 'passed' : report.failures.join('; ')}`.slice(0, 500) })])
    .catch(() => undefined);
  const reports = join(config.dataDir, 'restore-drills');
  mkdirSync(reports, { recursive: true, mode: 0o700 });
  writeFileSync(join(reports, `restore-${report.startedAt.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  return report;
}

export function restoreDrillMarkdown(r: RestoreDrillReport): string {
  return `# Restore drill ${r.startedAt}: ${r.ok ? 'PASSED' : 'FAILED'}

| | |
|---|---|
| target | ${r.target.type} ${r.target.value} |
| backup restored | ${r.restoredSet ?? '—'} |
| restore / recovery / total | ${r.restoreSeconds.toFixed(1)} s / ${r.recoverySeconds.toFixed(1)} s / ${r.totalSeconds.toFixed(1)} s |
| writes held for counts and restore point | ${r.writePauseMs === undefined ? '—' : `${r.writePauseMs} ms`} |
| row counts | ${r.target.type === 'name' ? `${r.tables} tables, ${r.rows} rows, ${r.countMismatches.length} differ` : 'not compared (time target)'} |
| markers (before / after the target) | ${r.markers === undefined ? '—' : `${r.target.type === 'time' ? '—' : r.markers.before ? 'present' : 'MISSING'} / ${r.markers.after ? 'PRESENT' : 'absent'}`} |
| pg_amcheck | ${r.amcheck.ok ? 'passed' : 'FAILED'}: ${r.amcheck.detail} |
| erasures (tombstones) | ${r.erasures === undefined ? '—' : `${r.erasures.tombstones} erased subjects, ${r.erasures.resurrected} had come back, ${r.erasures.keysDestroyed} key versions destroyed again, ${r.erasures.left} left`} |
| audit chains | ${r.tresor === undefined ? '—' : `${r.tresor.tenants} tenants + platform, ${r.tresor.events} events, ${r.tresor.findings.length} findings`} |

${r.failures.length === 0 ? 'No failures.' : r.failures.map((f) => `- ${f}`).join('\n')}${r.tresor === undefined || r.tresor.findings.length === 0 ? '' : `\n\nFindings on the restored data:\n${r.tresor.findings.slice(0, 20).map((f) => `- ${f}`).join('\n')}`}
`;
}

/** `tresor backup physical run|info|verify|retain` and `tresor drill restore`. */
export function physicalCommand(io: CliIo, core: Core, config: Config, action: string | undefined, values: CliValues): Promise<number> {
  return reportingBackupErrors(io, () => physicalSubcommand(io, core, config, action, values));
}

async function physicalSubcommand(io: CliIo, core: Core, config: Config, action: string | undefined, values: CliValues): Promise<number> {
  if (action === 'drill') {
    const target = typeof values['target'] === 'string' ? values['target'] : undefined;
    const report = await restoreDrill(core, config, { ...(target === undefined ? {} : { targetTime: target }), log: (line) => io.stderr(line) });
    io.stdout(restoreDrillMarkdown(report).trimEnd());
    return report.ok ? 0 : 1;
  }
  const physical = physicalOf(core);
  const actor = cliActor();
  if (action === 'run') {
    const type = typeof values['type'] === 'string' ? values['type'] : 'full';
    if (type !== 'full' && type !== 'diff' && type !== 'incr') throw new UsageError('--type takes full, diff or incr');
    const made = await physical.backup(type, 'manual');
    await core.audit.record(operatorRealm, [operatorEvent('backup.created', actor, { detail: `physical ${made.type} ${made.label}` })]);
    const retained = await physical.retain(config.backup.retention, Date.now());
    io.stdout(`physical ${made.type} backup ${made.label}: ${humanBytes(made.sizeBytes)} of data, ${humanBytes(made.repositoryBytes)} stored (compressed, encrypted); WAL ${made.walStart}…${made.walStop}`);
    if (retained.drop.length > 0) io.stdout(`expired by retention: ${retained.drop.join(', ')}`);
    io.stdout(made.label);
    return 0;
  }
  if (action === 'info') {
    const info = await physical.info();
    await core.audit.record(operatorRealm, [operatorEvent('backup.listed', actor, { detail: 'physical' })]);
    if (values['json'] === true) {
      io.stdout(JSON.stringify(info, null, 2));
      return info.ok ? 0 : 1;
    }
    io.stdout(`stanza ${physical.settings.stanza}: ${info.message}; cipher ${info.cipher}; WAL archive ${info.archive === undefined ? 'empty' : `${info.archive.min} … ${info.archive.max}`}`);
    for (const b of info.backups) {
      const drilled = b.annotations['tresor-restore-drill'];
      io.stdout(`${b.label}\t${b.type}\t${new Date(b.stoppedAt).toISOString()}\t${humanBytes(b.sizeBytes)} data\t${humanBytes(b.repositoryBytes)} stored${drilled === undefined ? '' : `\trestore drill passed ${drilled}`}`);
    }
    return info.ok ? 0 : 1;
  }
  if (action === 'verify') {
    const result = await physical.verify();
    await core.audit.record(operatorRealm, [operatorEvent(result.ok ? 'backup.verified' : 'backup.failed', actor, { detail: 'physical repository verify' })]);
    io.stdout(result.ok ? 'pgbackrest verify: every backup and WAL file in the repository matches its checksum' : `pgbackrest verify FAILED: ${result.output}`);
    return result.ok ? 0 : 1;
  }
  if (action === 'retain') {
    const result = await physical.retain(config.backup.retention, Date.now());
    await core.audit.record(operatorRealm, [operatorEvent('backup.pruned', actor, { detail: `physical: expired ${result.drop.length}` })]);
    for (const k of result.keep) io.stdout(`keep\t${k.id}\t${k.reasons.join(', ')}`);
    for (const d of result.drop) io.stdout(`expired\t${d}`);
    return 0;
  }
  throw new UsageError('tresor backup physical run [--type full|diff|incr] | info [--json] | verify | retain');
}
