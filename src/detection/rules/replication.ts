import type { PlatformReading } from '../platform-reading.js';
import type { Finding, ProbeRule } from '../types.js';

// Synchronous replication is what makes an acknowledged write survive the primary's loss; 30 s
// of replay lag on a standby is far beyond a healthy LAN (milliseconds) and costs RTO at failover.
const defaults = { maxLagSeconds: 30, requireSynchronous: true };

/** PostgreSQL replication: a standby not streaming or far behind, or no synchronous standby. */
export const replication: ProbeRule<PlatformReading, typeof defaults> = {
  kind: 'probe',
  id: 'platform.replication',
  severity: 'high',
  title: 'Replication degraded',
  describe: 'A PostgreSQL standby stopped streaming or lags far behind, or no standby confirms commits synchronously: acknowledged writes may exist on one machine only.',
  defaults,
  evaluate(reading, config) {
    const r = reading.replication;
    if (r === undefined) return [];
    const findings: Finding[] = [];
    if (config.requireSynchronous && r.synchronous === 0) findings.push({ subject: 'synchronous-standby', summary: `no synchronous standby: commits are acknowledged with ${r.standbys.length} standby(s) connected, none synchronous`, severity: 'critical' });
    for (const s of r.standbys) {
      if (!s.streaming) findings.push({ subject: `standby:${s.name}`, summary: `standby ${s.name} is connected but not streaming` });
      else if (s.lagSeconds !== undefined && s.lagSeconds > config.maxLagSeconds) findings.push({ subject: `standby:${s.name}`, summary: `standby ${s.name} replays ${Math.round(s.lagSeconds)} s behind the primary` });
    }
    return findings;
  },
};
