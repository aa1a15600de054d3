import { statfs } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import type { Alerts } from './alerts.js';
import type { EngineMetrics } from './engine.js';
import type { PlatformReading } from './platform-reading.js';
import type { ProbeRule, Rule, RuleConfig } from './types.js';

export interface PlatformSources {
  readonly now: () => number;
  /** When this server started (nothing is overdue before one interval has passed). */
  readonly since: number;
  readonly backups?: {
    readonly scheduled: boolean;
    readonly everyMinutes: number;
    readonly drillEveryHours: number;
    status(): Promise<{ readonly lastSnapshotAt?: number | undefined; readonly lastDrill?: { readonly at: string; readonly ok: boolean } | undefined }>;
  };
  readonly replication?: () => Promise<{ primary: boolean; standbys: ReadonlyArray<{ name: string; state: string; sync_state: string; lag_seconds: number | null }> }>;
  /** The PEM of the certificate the server presents. */
  readonly certificatePem?: string;
  /** Where Tresor writes; the same disk named twice is read twice (cheap), reported once per path. */
  readonly diskPaths: readonly string[];
}

/** Reads the platform's facts for the probe rules; a source that fails is left out of the reading. */
export function platformReader(sources: PlatformSources): () => Promise<PlatformReading> {
  const certificate = (() => {
    if (sources.certificatePem === undefined) return undefined;
    const cert = new X509Certificate(sources.certificatePem);
    const subject = /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? cert.subject;
    return { subject, notAfter: Date.parse(cert.validTo) };
  })();
  return async () => {
    const at = sources.now();
    let backups: PlatformReading['backups'];
    if (sources.backups !== undefined) {
      const status = await sources.backups.status().catch(() => undefined);
      if (status !== undefined) {
        const drillAt = status.lastDrill === undefined ? undefined : Date.parse(status.lastDrill.at);
        backups = {
          scheduled: sources.backups.scheduled,
          everyMinutes: sources.backups.everyMinutes,
          drillEveryHours: sources.backups.drillEveryHours,
          since: sources.since,
          ...(status.lastSnapshotAt === undefined ? {} : { lastSnapshotAt: status.lastSnapshotAt }),
          ...(drillAt === undefined || !Number.isFinite(drillAt) ? {} : { lastDrillAt: drillAt, lastDrillOk: status.lastDrill?.ok === true }),
        };
      }
    }
    let replication: PlatformReading['replication'];
    if (sources.replication !== undefined) {
      const state = await sources.replication().catch(() => undefined);
      // Only the primary can say; a standby has nothing to report about replication to it.
      if (state?.primary === true) {
        replication = {
          standbys: state.standbys.map((s) => ({ name: s.name, streaming: s.state === 'streaming', lagSeconds: s.lag_seconds ?? undefined })),
          synchronous: state.standbys.filter((s) => s.sync_state === 'sync' || s.sync_state === 'quorum').length,
        };
      }
    }
    const disks: Array<PlatformReading['disks'][number]> = [];
    for (const path of new Set(sources.diskPaths)) {
      const stats = await statfs(path).catch(() => undefined);
      if (stats !== undefined) disks.push({ path, freeBytes: Number(stats.bavail) * Number(stats.bsize), totalBytes: Number(stats.blocks) * Number(stats.bsize) });
    }
    return { at, disks, ...(backups === undefined ? {} : { backups }), ...(replication === undefined ? {} : { replication }), ...(certificate === undefined ? {} : { certificate }) };
  };
}

/**
 * The platform probe (SPEC L4 "continuous alerting"): every `everyMs`, on the node that leads,
 * reads the platform and runs each probe rule over the reading; findings become platform alerts
 * (the operators' realm), joined to the open alert of the same rule and subject while it lasts.
 */
export function runProbes(options: {
  readonly alerts: Alerts;
  readonly rules: readonly Rule[];
  readonly configs: ReadonlyMap<string, RuleConfig>;
  readonly read: () => Promise<PlatformReading>;
  readonly realm: string;
  readonly everyMs: number;
  readonly firstAfterMs?: number;
  readonly leadership?: Leadership;
  readonly metrics?: Pick<EngineMetrics, 'ruleFailed'>;
}): { round(): Promise<void>; stop(): Promise<void> } {
  const probeRules = options.rules.filter((r): r is ProbeRule<PlatformReading, RuleConfig> => r.kind === 'probe');
  const round = async () => {
    const reading = await options.read();
    for (const rule of probeRules) {
      let findings;
      try {
        findings = rule.evaluate(reading, options.configs.get(rule.id) ?? rule.defaults, reading.at);
      } catch {
        options.metrics?.ruleFailed(rule.id);
        continue;
      }
      for (const finding of findings) await options.alerts.raise(options.realm, rule.id, finding);
    }
  };
  const job = periodic(round, options.everyMs, options.firstAfterMs ?? 60_000, options.leadership);
  return { round, stop: () => job.stop() };
}
